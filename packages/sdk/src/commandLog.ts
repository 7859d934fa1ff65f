import type { StoredResult } from "./session.js";

// What the log holds for the machine: commands, raftkit's own among them, and what applying one gives.

/** Commands whose name starts with this are raftkit's own, never the machine's. */
export const SYSTEM_PREFIX = "__raftkit.";
export const PUBLISH = `${SYSTEM_PREFIX}publish`;
export const UNPUBLISH = `${SYSTEM_PREFIX}unpublish`;
/** Asks every node to hash its state at this entry's index (see DivergenceMonitor). */
export const STATE_CHECK = `${SYSTEM_PREFIX}stateCheck`;
/** One node's hash at a STATE_CHECK index: `{ index, node, hash }`. */
export const HASH_REPORT = `${SYSTEM_PREFIX}hashReport`;
/** Switches the machine version the log is applied at: `{ to }` (see machineVersion.ts). */
export const SET_MACHINE_VERSION = `${SYSTEM_PREFIX}setMachineVersion`;

/** A member that started and announced itself through the log. */
export interface PublishedMember {
  incarnation: string;
  /** Log time of the announcement, in ms. */
  since: number;
  /** The highest machine version its code supports (1 for an announcement without it). */
  supports: number;
}

/** The log entry of one command. */
export interface CommandPayload {
  name: string;
  arg: unknown;
  session: string;
  seq: number;
  /** The caller's lowest sequence number still waiting for an answer. */
  lowest: number;
  /** The proposer's clock, in ms; made monotonic along the log when applied. */
  at: number;
}

/** What applying one command produced, for the caller and for `commits$`. */
export interface CommandOutcome {
  name: string;
  arg: unknown;
  result: StoredResult;
  index: number;
  term: number;
  time: Date;
  /** True when this entry repeated an earlier command of the same session and did not run again. */
  duplicate: boolean;
}

/** The answer to a command of a session the table no longer has (see SessionTable). */
export function expiredResult(p: CommandPayload, ttlMs: number): StoredResult {
  return {
    ok: false,
    name: "SessionExpiredError",
    code: "SESSION_EXPIRED",
    message:
      `session ${p.session} expired (idle for longer than the session TTL of ${ttlMs} ms of log time) before its ` +
      `command ${p.seq} ("${p.name}") was applied: whether an earlier attempt ran cannot be known any more, so it did not run. ` +
      "Check the state before sending it again, in a new session (CommandRunner and createClient start one for new commands)",
  };
}
