import { freeze } from "immer";
import { encodeValue } from "./codec.js";
import { withDeterminismGuards } from "./determinismGuards.js";
import { drafts } from "./drafts.js";
import { MachineTooOldError } from "./machineVersionErrors.js";
import type { StoredResult } from "./session.js";
import { assertChangesEncodable } from "./stateChanges.js";
import type { AnyMachine } from "./types.js";

/**
 * Machine versions: the cluster applies the log at one version, recorded in the replicated
 * state (and so in snapshots), and moves to a higher one only through a version switch in
 * the log. Everything here runs inside the state machine: it depends only on the log.
 */

/** Throws a TypeError unless `v` is a machine version: an integer ≥ 1. */
export function assertMachineVersion(what: string, v: unknown): asserts v is number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1)
    throw new TypeError(`${what} must be a machine version, an integer ≥ 1 (got ${String(v)})`);
}

/** The machine version a command exists from: its declared `since`, or 1. */
export function commandSince(op: unknown): number {
  const since = typeof op === "object" && op !== null ? (op as { since?: unknown }).since : undefined;
  return typeof since === "number" ? since : 1;
}

/** The names of the commands `machine` has while the log is at `version`, in declaration order. */
export function commandsAt(machine: AnyMachine, version: number): string[] {
  return Object.keys(machine.commands).filter((name) => commandSince(machine.commands[name]) <= version);
}

/**
 * The members among `memberIds` whose code does not support `target`, with the highest
 * version each reported (0 for a member that has not published itself yet).
 */
export function lackingSupport(
  target: number,
  memberIds: readonly string[],
  supports: (id: string) => number | undefined,
): Record<string, number> {
  const lacking: Record<string, number> = {};
  for (const id of memberIds) {
    const s = supports(id) ?? 0;
    if (s < target) lacking[id] = s;
  }
  return lacking;
}

/** "a (supports 1), b (not published)" */
export function describeLacking(lacking: Record<string, number>): string {
  return Object.entries(lacking)
    .map(
      ([id, s]) => `${id} (${s === 0 ? "has not published its supported version" : `supports up to ${s}`})`,
    )
    .join(", ");
}

/** What applying a version switch leaves: the state and version after it, and the entry's result. */
export interface SwitchOutcome {
  state: unknown;
  version: number;
  result: StoredResult;
}

/**
 * Applies a version switch to `to` at log index `index`. In this order, so that every node
 * reaches the same outcome: a switch that is invalid, or that a current member does not
 * support (`lacking`, computed from the replicated state and the membership at this entry),
 * fails with the version unchanged; a switch to a version above what this node's code
 * supports throws {@link MachineTooOldError} (the runtime stops the node: it must never apply
 * newer entries with older code); otherwise `migrate` upcasts the state one version at a
 * time, under the same determinism guards as reducers, and a migration that throws or leaves
 * a state superjson cannot encode fails the switch, state and version unchanged.
 */
export function switchVersion(o: {
  machine: AnyMachine;
  state: unknown;
  version: number;
  to: unknown;
  index: number;
  lacking: (to: number) => Record<string, number>;
}): SwitchOutcome {
  const { machine, state, version, to, index } = o;
  const fail = (
    name: string,
    message: string,
    code?: "UPGRADE_REFUSED" | "MIGRATION_FAILED",
  ): SwitchOutcome => ({
    state,
    version,
    result: { ok: false, name, message, ...(code && { code }) },
  });
  if (typeof to !== "number" || !Number.isSafeInteger(to) || to < 1)
    return fail("TypeError", `a machine version switch needs a version, an integer ≥ 1 (got ${String(to)})`);
  if (to === version) return { state, version, result: { ok: true, value: { from: version, to } } };
  if (to < version)
    return fail(
      "UpgradeRefusedError",
      `the machine is at version ${version}: it cannot go back to version ${to}`,
      "UPGRADE_REFUSED",
    );
  const lacking = o.lacking(to);
  if (Object.keys(lacking).length > 0)
    return fail(
      "UpgradeRefusedError",
      `not every member supports machine version ${to}: ${describeLacking(lacking)}`,
      "UPGRADE_REFUSED",
    );
  if (to > machine.version)
    throw new MachineTooOldError(to, machine.version, `a version switch at index ${index}`);
  let from = version;
  try {
    const migrated = withDeterminismGuards(() => {
      let s = state;
      for (; from < to; from++) {
        const v = from;
        s = drafts.produce(s, (draft: unknown) => {
          const replaced = machine.migrate(draft, v);
          assertChangesEncodable(draft, `migrate(state, ${v})`);
          return replaced as never;
        });
      }
      return s;
    });
    encodeValue(migrated, `the state migrated to machine version ${to}`);
    return { state: freeze(migrated, true), version: to, result: { ok: true, value: { from: version, to } } };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    return fail(
      err.name,
      `migrate(state, ${from}) failed: ${err.message}. The machine stays at version ${version}`,
      "MIGRATION_FAILED",
    );
  }
}
