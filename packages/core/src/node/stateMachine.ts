import type { Entry } from "../raft/types.js";

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
  snapshot(): Uint8Array | Promise<Uint8Array>;
  /** Replaces the whole state with a snapshot's. */
  restore(data: Uint8Array): void | Promise<void>;
}
