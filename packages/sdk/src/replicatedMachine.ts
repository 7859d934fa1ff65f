import { type Clock, type Entry, type StateMachine, systemClock } from "@raftkit/core";
import { freeze } from "immer";
import { BehaviorSubject } from "rxjs";
import { decodeValue, encodeValue } from "./codec.js";
import {
  type CommandOutcome,
  type CommandPayload,
  expiredResult,
  HASH_REPORT,
  PUBLISH,
  type PublishedMember,
  SET_MACHINE_VERSION,
  STATE_CHECK,
  SYSTEM_PREFIX,
  UNPUBLISH,
} from "./commandLog.js";
import { CommandStep } from "./commandStep.js";
import { withDeterminismGuards } from "./determinismGuards.js";
import { commandSince, commandsAt, lackingSupport, switchVersion } from "./machineVersion.js";
import { MachineTooOldError } from "./machineVersionErrors.js";
import { operationFn } from "./operations.js";
import { type BatchStep, runBatch } from "./runBatch.js";
import { type SessionRecord, SessionTable, type StoredResult } from "./session.js";
import { Slicer } from "./snapshot/slicer.js";
import { decodeInSlices, encodeInSlices, freezeInSlices, hashInSlices } from "./snapshot/snapshotCodec.js";
import type { AnyMachine } from "./types.js";

/**
 * Reducers that share one immer draft at most. A batch of commands shares a draft, so a large
 * collection is copied once per batch; but each reducer's changes are checked with everything
 * the draft changed before it, so a batch of k costs k² checks (4,000 puts: over a second).
 */
const STEPS_PER_DRAFT = 256;

/**
 * How long (ms of the clock) {@link ReplicatedMachine.apply} runs drafts back to back before it
 * lets the event loop run. A simulation's clock does not move while code runs, so there an
 * apply never yields on its own.
 */
export const APPLY_TURN_MS = 10;

/** A new command waiting for its batch's reducers to run, with where its outcome goes. */
interface Waiting {
  at: number;
  p: CommandPayload;
  e: Entry;
  record: SessionRecord;
  time: number;
  step?: BatchStep;
  result?: StoredResult;
}

/**
 * One call of apply: the outcomes so far, the new commands whose reducers have not run yet
 * (and their session keys), and whether a draft has run yet.
 */
interface ApplyRun {
  out: CommandOutcome[];
  waiting: Waiting[];
  waitingKeys: Set<string>;
  drafts: { ran: boolean };
}

/** What a snapshot of a {@link ReplicatedMachine} holds (superjson-encoded). */
interface SnapshotPayload {
  state: unknown;
  sessions: [string, SessionRecord][];
  /** Absent in snapshots written before it was kept. */
  nextSessionSweep?: number;
  lastTime: number;
  members?: [string, Partial<PublishedMember> & { incarnation: string; since: number }][];
  /** Absent in snapshots written before machine versions existed (version 1). */
  version?: number;
}

/** Options of a {@link ReplicatedMachine}. */
export interface ReplicatedMachineOptions {
  /**
   * Runs the slices of snapshot encoding and decoding (its setImmediate) and times them (its
   * monotonic clock), so a large state never holds the event loop for long. Default: the
   * process's; a simulation gives its own.
   */
  clock?: Pick<Clock, "setImmediate" | "monotonic">;
}

function errorResult(e: unknown): StoredResult {
  const err = e instanceof Error ? e : new Error(String(e));
  return { ok: false, name: err.name, message: err.message };
}

/**
 * Runs a {@link AnyMachine}'s commands as a Raft {@link StateMachine}: each entry is decoded,
 * deduplicated by session, run through immer against the current state, and its result
 * recorded. A reducer that throws leaves the state untouched; every node reaches the same
 * outcome because the outcome depends only on the log.
 */
export class ReplicatedMachine<M extends AnyMachine> implements StateMachine {
  readonly machine: M;
  readonly #sessions: SessionTable;
  readonly #sessionTtlMs: number;
  #state: unknown;
  /**
   * The state as of the last whole batch applied: what {@link state} and queries read. The
   * runtime counts a batch applied once {@link apply} resolves, and apply may let the event loop
   * run in between (reads then see the state before the batch, with the applied index).
   */
  #visible: unknown;
  #lastTime = 0;
  /** The machine version the log is applied at. Invariant: 1 ≤ #version ≤ machine.version. */
  #version = 1;
  readonly #members = new Map<string, PublishedMember>();
  readonly state$: BehaviorSubject<unknown>;
  /**
   * Whether `id` belongs to the configuration as of the entry being applied (set by the
   * runtime's wiring; the runtime applies configuration entries in log order with the rest).
   * Null: every id counts as a member.
   */
  isMember: ((id: string) => boolean) | null = null;
  /**
   * The voters and learners as of the entry being applied (set by the runtime's wiring), whose
   * support a version switch needs. Null: no member is checked.
   */
  memberIds: (() => string[]) | null = null;
  /** Called with every applied command, in log order. */
  onCommand: ((o: CommandOutcome) => void) | null = null;
  /** Called with this node's hash of its state, sessions and members at each STATE_CHECK entry, once computed (after that entry's apply). */
  onStateCheck: ((index: number, hash: string) => void) | null = null;
  /** Called with each node's reported hash (a HASH_REPORT entry), in log order. */
  onHashReport: ((index: number, node: string, hash: string) => void) | null = null;

  readonly #clock: Pick<Clock, "setImmediate" | "monotonic">;

  constructor(machine: M, sessionTtlMs: number, options: ReplicatedMachineOptions = {}) {
    this.machine = machine;
    this.#clock = options.clock ?? systemClock;
    this.#sessions = new SessionTable(sessionTtlMs);
    this.#sessionTtlMs = sessionTtlMs;
    const initial = machine.initial();
    encodeValue(initial, "the machine's initial state (returned by initial())");
    this.#state = freeze(initial, true);
    this.#visible = this.#state;
    this.state$ = new BehaviorSubject(this.#state);
  }

  get state(): unknown {
    return this.#visible;
  }

  /** The machine version the log is applied at (1 until a version switch). */
  get version(): number {
    return this.#version;
  }

  /**
   * Applies committed entries in log order. The outcome depends only on the entries (and the
   * state they start from), never on how the log is split into calls: each entry is checked
   * against the session table in order, as if applied alone; only the reducers of new
   * commands run together (see runBatch). A command that repeats one still waiting in this
   * batch first runs the waiting ones, so the repeat finds the first result recorded.
   *
   * A long batch (a follower catching up) runs {@link STEPS_PER_DRAFT} reducers to a draft, and
   * lets the event loop run between two drafts once it has held it for {@link APPLY_TURN_MS}:
   * each draft of a large collection copies it. Meanwhile {@link state} and queries see the state
   * before the batch; it changes when the batch is done.
   */
  async apply(entries: readonly Entry[]): Promise<CommandOutcome[]> {
    const run = this.#applying(entries);
    let turnStarted = this.#clock.monotonic();
    for (let r = run.next(); ; r = run.next()) {
      if (r.done) return r.value;
      if (this.#clock.monotonic() - turnStarted >= APPLY_TURN_MS) {
        await new Promise<void>((resolve) => this.#clock.setImmediate(resolve));
        turnStarted = this.#clock.monotonic();
      }
    }
  }

  /** {@link apply}, at once (for tests and checks; a large state holds the event loop meanwhile). */
  applyNow(entries: readonly Entry[]): CommandOutcome[] {
    const run = this.#applying(entries);
    for (let r = run.next(); ; r = run.next()) if (r.done) return r.value;
  }

  /** {@link apply}'s work; it yields between two drafts, where the event loop may run. */
  *#applying(entries: readonly Entry[]): Generator<void, CommandOutcome[]> {
    const run: ApplyRun = { out: [], waiting: [], waitingKeys: new Set(), drafts: { ran: false } };
    const { out, waiting, waitingKeys } = run;
    for (let at = 0; at < entries.length; at++) {
      const e = entries[at]!;
      let p: CommandPayload;
      try {
        p = decodeValue<CommandPayload>(e.data, `the command at index ${e.index}`);
      } catch (err) {
        const unknown = { name: "?", arg: undefined, at: this.#lastTime } as CommandPayload;
        out[at] = this.#outcome(unknown, e, errorResult(err), false);
        continue;
      }
      this.#lastTime = Math.max(this.#lastTime, typeof p.at === "number" ? p.at : 0);
      const key = `${p.session}\u0000${p.seq}`;
      if (waitingKeys.has(key)) yield* this.#flushWaiting(run);
      const dedup = this.#sessions.check(p.session, p.seq, p.lowest, this.#lastTime);
      if (dedup.kind === "duplicate") {
        out[at] = this.#outcome(p, e, dedup.result, true);
        continue;
      }
      if (dedup.kind === "forgotten") {
        const message = `command ${p.seq} of session ${p.session} was already acknowledged; its result is gone`;
        out[at] = this.#outcome(p, e, { ok: false, name: "SessionError", message }, true);
        continue;
      }
      if (dedup.kind === "expired") {
        out[at] = this.#outcome(p, e, expiredResult(p, this.#sessionTtlMs), false);
        continue;
      }
      // The hash covers every entry before this one: their reducers must have run.
      // A version switch too: its migration starts from the state they leave.
      if (p.name === STATE_CHECK || p.name === SET_MACHINE_VERSION) yield* this.#flushWaiting(run);
      waitingKeys.add(key);
      waiting.push({ at, p, e, record: dedup.record, time: this.#lastTime, ...this.#prepare(p, e) });
    }
    yield* this.#flushWaiting(run);
    this.#visible = this.#state;
    this.state$.next(this.#state);
    return out;
  }

  /** Runs the reducers of the commands waiting in `run`, then records and reports every waiting command's outcome. */
  *#flushWaiting(run: ApplyRun): Generator<void, void> {
    const steps = run.waiting.filter((w) => w.step !== undefined);
    const results = steps.length > 0 ? yield* this.#runSteps(steps, run.drafts) : [];
    let k = 0;
    for (const w of run.waiting) {
      const result = w.step ? results[k++]! : w.result!;
      this.#sessions.record(w.p.session, w.record, w.p.seq, result);
      const o = this.#outcome(w.p, w.e, result, false, w.time);
      run.out[w.at] = o;
      this.onCommand?.(o);
    }
    run.waiting.length = 0;
    run.waitingKeys.clear();
  }

  /** What a new command does: a reducer step to run, or (system or unknown command) its result now. */
  #prepare(p: CommandPayload, e: Entry): { step: BatchStep } | { result: StoredResult } {
    if (p.name.startsWith(SYSTEM_PREFIX)) return { result: this.#runSystem(p, e) };
    const version = this.#version;
    // A command newer than the log's version is unknown, exactly as on a node of the older code.
    const op = Object.hasOwn(this.machine.commands, p.name) ? this.machine.commands[p.name] : undefined;
    const fn = op !== undefined && commandSince(op) <= version ? operationFn(op) : undefined;
    if (typeof fn !== "function") {
      const known = commandsAt(this.machine, version).join(", ");
      const message = `unknown command "${p.name}"; this machine has: ${known}`;
      return { result: { ok: false, name: "UnknownOperationError", message } };
    }
    return { step: new CommandStep(fn, p.name, p.arg, e, this.#lastTime, version) };
  }

  /**
   * Runs the reducers of new commands, {@link STEPS_PER_DRAFT} to a draft, and yields before each
   * draft but the batch's first (`drafts.ran`). runBatch gives the outcome of one produce per reducer whatever the split, so this
   * changes no outcome; it keeps the check after each reducer (of everything the draft changed
   * so far) from growing with the square of a long batch, such as a follower catching up. The
   * state changes once all have run.
   */
  *#runSteps(steps: readonly Waiting[], drafts: { ran: boolean }): Generator<void, StoredResult[]> {
    const results: StoredResult[] = [];
    let state = this.#state;
    for (let i = 0; i < steps.length; i += STEPS_PER_DRAFT) {
      if (drafts.ran) yield;
      drafts.ran = true;
      // The guards replace the clock's timers too: only around the reducers, never across a yield.
      const out = withDeterminismGuards(() =>
        runBatch(
          state,
          steps.slice(i, i + STEPS_PER_DRAFT).map((w) => w.step!),
        ),
      );
      state = out.state;
      results.push(...out.results);
    }
    this.#state = state;
    return results;
  }

  /**
   * raftkit's own commands: the record of which members have started (see startNode's
   * data-loss check), and the state checks that detect diverged replicas.
   */
  #runSystem(p: CommandPayload, e: Entry): StoredResult {
    if (p.name === STATE_CHECK) {
      // Captured now, hashed in slices: the report follows a few turns later. A state that
      // cannot be encoded fails the node's snapshots too, which stop it with the reason.
      void hashInSlices(this.snapshotValue(), this.#slicer(), "the machine's state").then(
        (hash) => this.onStateCheck?.(e.index, hash),
        () => {},
      );
      return { ok: true, value: undefined };
    }
    if (p.name === HASH_REPORT) {
      const r = p.arg as { index?: unknown; node?: unknown; hash?: unknown } | undefined;
      if (typeof r?.index === "number" && typeof r.node === "string" && typeof r.hash === "string")
        this.onHashReport?.(r.index, r.node, r.hash);
      return { ok: true, value: undefined };
    }
    if (p.name === SET_MACHINE_VERSION) {
      const members = this.memberIds?.() ?? [];
      const switched = switchVersion({
        machine: this.machine,
        state: this.#state,
        version: this.#version,
        to: (p.arg as { to?: unknown } | undefined)?.to,
        index: e.index,
        lacking: (to) => lackingSupport(to, members, (id) => this.#members.get(id)?.supports),
      });
      this.#state = switched.state;
      this.#version = switched.version;
      return switched.result;
    }
    const arg = p.arg as { id?: unknown; incarnation?: unknown; supports?: unknown } | undefined;
    if (typeof arg?.id !== "string")
      return { ok: false, name: "TypeError", message: `${p.name} needs an id` };
    if (p.name === PUBLISH) {
      // A late announcement of a member removed meanwhile (an old incarnation's retry) must not
      // undo its UNPUBLISH, or re-adding the id with an empty data directory would be refused.
      if (this.isMember && !this.isMember(arg.id)) return { ok: true, value: undefined };
      this.#members.set(arg.id, {
        incarnation: String(arg.incarnation ?? ""),
        since: this.#lastTime,
        supports: typeof arg.supports === "number" ? arg.supports : 1,
      });
      return { ok: true, value: undefined };
    }
    if (p.name === UNPUBLISH) {
      this.#members.delete(arg.id);
      return { ok: true, value: undefined };
    }
    return { ok: false, name: "UnknownOperationError", message: `unknown system command ${p.name}` };
  }

  /** Members that have started and published themselves, by id. */
  publishedMembers(): Record<string, PublishedMember> {
    return Object.fromEntries(this.#members);
  }

  #outcome(
    p: CommandPayload,
    e: Entry,
    result: StoredResult,
    duplicate: boolean,
    time = this.#lastTime,
  ): CommandOutcome {
    return {
      name: p.name,
      arg: p.arg,
      result,
      index: e.index,
      term: e.term,
      time: new Date(time),
      duplicate,
    };
  }

  /** Runs a query against the current state. Throws for an unknown query or what the query throws. */
  query(name: string, arg: unknown): unknown {
    const fn = Object.hasOwn(this.machine.queries, name)
      ? operationFn(this.machine.queries[name])
      : undefined;
    if (typeof fn !== "function") {
      throw new Error(
        `unknown query "${name}"; this machine has: ${Object.keys(this.machine.queries).join(", ")}`,
      );
    }
    return fn(this.#visible, arg);
  }

  /**
   * The snapshot of everything applied so far (state, sessions, members, log time, version) as
   * superjson bytes, in pieces. The value is captured during the call (the state is frozen, the
   * session table copied) and encoded in slices across later turns, so a large state never holds
   * the event loop for long, and applies may go on meanwhile.
   */
  snapshot(): Promise<Uint8Array[]> {
    return encodeInSlices(this.snapshotValue(), this.#slicer(), "the machine's state");
  }

  /** {@link snapshot}'s bytes, encoded at once (for checks and tests; large states stall the event loop). */
  snapshotNow(): Uint8Array {
    return encodeValue(this.snapshotValue(), "the machine's state");
  }

  /**
   * What {@link snapshot} encodes, not yet encoded, captured now: the state (frozen by immer) and
   * copies of the session records and members, which later applies change in place.
   */
  snapshotValue(): unknown {
    const sessions = this.#sessions.toJSON();
    return {
      state: this.#state,
      sessions: sessions.sessions,
      nextSessionSweep: sessions.nextSweep,
      lastTime: this.#lastTime,
      members: [...this.#members],
      version: this.#version,
    };
  }

  /** Replaces the whole state with a snapshot's, decoded in slices (see {@link prepareRestore}). */
  async restore(data: Uint8Array): Promise<void> {
    (await this.prepareRestore(data))();
  }

  /**
   * Decodes a snapshot in slices, freezes its state as immer would, and resolves with a function
   * that installs it at once. Nothing changes until then. Rejects with DecodeError, or with
   * {@link MachineTooOldError} for a snapshot taken at a machine version this code lacks.
   */
  async prepareRestore(data: Uint8Array): Promise<() => void> {
    const slicer = this.#slicer();
    const s = await decodeInSlices<SnapshotPayload>(data, slicer, "a snapshot");
    const version = this.#versionOf(s);
    await freezeInSlices(s.state, slicer);
    return () => this.#install(s, version);
  }

  /** {@link restore}, decoded at once (for tests; large states stall the event loop). */
  restoreNow(data: Uint8Array): void {
    const s = decodeValue<SnapshotPayload>(data, "a snapshot");
    const version = this.#versionOf(s);
    freeze(s.state, true);
    this.#install(s, version);
  }

  #versionOf(s: SnapshotPayload): number {
    // Snapshots written before machine versions existed are at version 1.
    const version = s.version ?? 1;
    if (version > this.machine.version)
      throw new MachineTooOldError(version, this.machine.version, "a snapshot taken at that version");
    return version;
  }

  #install(s: SnapshotPayload, version: number): void {
    this.#version = version;
    this.#state = s.state;
    this.#visible = s.state;
    this.#sessions.load({ sessions: s.sessions, nextSweep: s.nextSessionSweep ?? 0 });
    this.#lastTime = s.lastTime;
    this.#members.clear();
    for (const [id, m] of s.members ?? []) this.#members.set(id, { ...m, supports: m.supports ?? 1 });
    this.state$.next(this.#state);
  }

  #slicer(): Slicer {
    return new Slicer(this.#clock);
  }
}
