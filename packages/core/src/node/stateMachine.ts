import type { Entry } from "../raft/types.js";

/** A snapshot's bytes: one array, or pieces in order (the runtime joins them behind its header, a piece at a time). */
export type SnapshotBytes = Uint8Array | readonly Uint8Array[];

/**
 * The application's replicated state, driven by the runtime.
 *
 * Obligations: `apply` must be deterministic (the same entries give the same state and
 * results on every node) and must not throw for an entry it cannot use: it returns an error
 * as that entry's result instead, so every node stays in step.
 */
export interface StateMachine {
  /** Applies committed application entries in log order; returns one result per entry. */
  apply(entries: readonly Entry[]): unknown[] | Promise<unknown[]>;
  /**
   * A serialized copy of the whole state, as of the last applied entry. The runtime stores it in
   * the background and goes on applying entries while a returned promise settles, so the state
   * must be captured during the call itself (a copy, or an immutable reference), never read later.
   */
  snapshot(): SnapshotBytes | Promise<SnapshotBytes>;
  /** Replaces the whole state with a snapshot's. */
  restore(data: Uint8Array): void | Promise<void>;
  /**
   * Optional: decodes `data` as {@link restore} would, without changing the state, and resolves
   * with a function that installs the result at once. The runtime decodes a snapshot received
   * from the leader this way before Raft sees it, so that the node goes on answering heartbeats
   * while a large one is decoded; it installs it once Raft accepts it. A rejection is not
   * reported: the runtime then calls {@link restore}, whose error stops the node as usual.
   */
  prepareRestore?(data: Uint8Array): Promise<() => void>;
}
