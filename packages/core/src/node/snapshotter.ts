import { SnapshotOutOfDateError } from "../errors.js";
import type { Logger } from "../raft/logger.js";
import type { WritableStorage } from "../raft/storage.js";
import type { ConfState, NodeId, Snapshot, SnapshotMeta } from "../raft/types.js";
import type { AppliedState } from "./applier.js";
import { type Clock, nextTurn } from "./clock.js";
import type { RaftNodeObserver } from "./observer.js";
import type { Persister } from "./persister.js";
import { decodeRuntimeSnapshot, joinRuntimeSnapshot } from "./runtimeSnapshot.js";
import type { SnapshotBytes, StateMachine } from "./stateMachine.js";
import { fatalErrorReason } from "./stopReasons.js";

/** What taking, storing and restoring snapshots needs from the node. */
export interface SnapshotterContext {
  id: NodeId;
  stateMachine: StateMachine;
  storage: WritableStorage;
  persister: Persister;
  state: AppliedState;
  clock: Clock;
  logger: Logger;
  observer: RaftNodeObserver;
  /** Take a snapshot after this many entries were applied since the last one. */
  snapshotEntries: number;
  /** Entries kept in the log behind a snapshot. */
  snapshotCatchUpEntries: number;
  /** The term of log entry `index`, or null if it is unknown. */
  term: (index: number) => number | null;
  /** Whether the node is stopping: a snapshot encoded by then is not stored. */
  closing: () => boolean;
  /** Stops the node after an error it cannot continue from. */
  fatal: (reason: string, cause: Error) => void;
  /** The install of a received snapshot's state, when it was decoded ahead (see SnapshotIntake). */
  takeInstall: (data: Uint8Array) => (() => void) | undefined;
}

/**
 * The snapshot path: takes snapshots of the applied state in the background, stores them and
 * compacts the log, and restores the state machine from a snapshot received from the leader.
 */
export class Snapshotter {
  readonly #ctx: SnapshotterContext;
  /** The snapshot being encoded and stored in the background, if any. */
  #task: Promise<void> | null = null;
  #lastIndex = 0;

  constructor(ctx: SnapshotterContext) {
    this.#ctx = ctx;
  }

  /** The snapshot being encoded and stored in the background, if any. */
  get task(): Promise<void> | null {
    return this.#task;
  }

  /** Records that the state was recovered from the stored snapshot at `index`. */
  recovered(index: number): void {
    this.#lastIndex = index;
  }

  async restore(data: Uint8Array, index: number, confState: ConfState): Promise<void> {
    const { clock, state } = this.#ctx;
    const started = clock.monotonic();
    const rs = decodeRuntimeSnapshot(data);
    const install = this.#ctx.takeInstall(data);
    if (install) install();
    else await this.#ctx.stateMachine.restore(rs.app);
    // The leader's map is from the leader's point of view: an address this node was configured
    // with (its own, or a peer's as reachable from here) stays; the others are newer than
    // anything applied here, since the snapshot covers every entry this node had applied.
    for (const [id, url] of Object.entries(rs.addresses))
      if (!state.configured.has(id)) state.setAddress(id, url);
    state.membership = confState;
    state.applied = index;
    this.#lastIndex = index;
    const ms = clock.monotonic() - started;
    this.#ctx.observer.snapshotRestored?.(index, ms);
    this.#ctx.logger.info(
      `node ${this.#ctx.id}: restored the state machine from a snapshot at index ${index}`,
      {
        event: "snapshotRestored",
        index,
        durationMs: Math.round(ms),
      },
    );
  }

  /**
   * Starts a snapshot of the applied state when enough entries were applied since the last one,
   * unless one is under way. The state machine copies its state in `snapshot()`; encoding it and
   * storing it go on in the background while the loop keeps replicating and applying (as the
   * Raft thesis §5.1 suggests, copy-on-write), so a large state costs no leadership.
   */
  maybeSnapshot(): void {
    const { state } = this.#ctx;
    if (this.#task !== null) return;
    if (state.applied - this.#lastIndex < this.#ctx.snapshotEntries) return;
    const index = state.applied;
    const term = this.#ctx.term(index);
    if (term === null) return;
    const meta = { index, term, confState: state.membership };
    const addresses = Object.fromEntries(state.addresses);
    const started = this.#ctx.clock.monotonic();
    const app = this.#ctx.stateMachine.snapshot();
    this.#task = this.#store(meta, addresses, app, started)
      .catch((e: unknown) => {
        if (e instanceof SnapshotOutOfDateError) return; // a newer snapshot arrived from the leader meanwhile
        this.#ctx.fatal(fatalErrorReason(e as Error), e as Error);
      })
      .finally(() => {
        this.#task = null;
      });
  }

  /** A snapshot of everything applied so far, taken now and not stored (see RaftNode.captureSnapshot). */
  async capture(): Promise<Snapshot> {
    const { state, id, clock } = this.#ctx;
    const index = state.applied;
    const term = this.#ctx.term(index);
    if (term === null) throw new Error(`node ${id}: the term of applied entry ${index} is unknown`);
    const confState = structuredClone(state.membership);
    const addresses = Object.fromEntries(state.addresses);
    const app = await this.#ctx.stateMachine.snapshot();
    const data = await joinRuntimeSnapshot({ addresses, app }, () => nextTurn(clock));
    return { meta: { index, term, confState }, data };
  }

  async #store(
    meta: SnapshotMeta,
    addresses: Record<NodeId, string>,
    app: SnapshotBytes | Promise<SnapshotBytes>,
    started: number,
  ): Promise<void> {
    const { storage, persister, clock } = this.#ctx;
    const data = await joinRuntimeSnapshot({ addresses, app: await app }, () => nextTurn(clock));
    const snapshot = { meta, data };
    if (this.#ctx.closing() || meta.index <= this.#lastIndex) return;
    // Its file is written first, while the log goes on being written and synced.
    await storage.prepareSnapshot?.(snapshot);
    if (this.#ctx.closing() || meta.index <= this.#lastIndex) return;
    const hardState = persister.snapshotHardState(meta.index);
    await storage.save({ snapshot, hardState });
    persister.snapshotHardStateSaved(hardState);
    this.#lastIndex = Math.max(this.#lastIndex, meta.index);
    const compactTo = meta.index - this.#ctx.snapshotCatchUpEntries;
    if (compactTo >= storage.firstIndex()) await storage.compact(compactTo);
    const ms = this.#ctx.clock.monotonic() - started;
    this.#ctx.observer.snapshotTaken?.(meta.index, ms);
    this.#ctx.logger.info(
      `node ${this.#ctx.id}: snapshot at index ${meta.index}; log compacted up to ${Math.max(compactTo, 0)}`,
      {
        event: "snapshot",
        index: meta.index,
        compactedTo: Math.max(compactTo, 0),
        durationMs: Math.round(ms),
      },
    );
  }
}
