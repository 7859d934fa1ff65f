import type { ProgressState, ProgressStatus } from "../raft/types.js";
import { Inflights } from "./inflights.js";

/**
 * What the leader knows of one follower's log, and how it replicates to it.
 *
 * - probe: the leader sends at most one append per heartbeat interval until it finds the
 *   point where the logs match.
 * - replicate: appends are pipelined optimistically, bounded by {@link Inflights}.
 * - snapshot: the follower needs a snapshot; nothing else is sent until it is reported.
 *
 * Invariant: 0 <= match < next.
 */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = "probe";
  /** In probe state: an append was sent and no reply came yet, so hold further appends. */
  msgAppFlowPaused = false;
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** The highest commit index sent to this follower (in an append or a heartbeat). */
  sentCommit = 0;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, isLearner: boolean, maxInflightMsgs: number, maxInflightBytes: number) {
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  #resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // Coming from snapshot: the follower has at least the snapshot, so probe right after it.
    if (this.state === "snapshot") {
      const pending = this.pendingSnapshot;
      this.#resetState("probe");
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.#resetState("probe");
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.#resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.#resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
  }

  /**
   * Notes that an append with `entries` entries ending at `lastIndex` (and `bytes` of
   * entries) was sent, advancing `next` optimistically in the replicate state.
   */
  sentEntries(entries: number, lastIndex: number, bytes: number): void {
    if (this.state === "replicate") {
      if (entries > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === "probe" && entries > 0) {
      // One probe with entries at a time; an empty one (commit only) needs no answer.
      this.msgAppFlowPaused = true;
    }
  }

  /** A successful append response up to `n`. Returns false if it was stale (nothing changed). */
  maybeUpdate(n: number): boolean {
    if (n <= this.match) return false;
    this.match = n;
    this.next = Math.max(this.next, n + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * A rejected append at index `rejected`, with the follower's hint `matchHint`. Returns
   * false if the rejection is stale (it answers an older append than the one in flight).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      // Only a rejection of the oldest unacked append (next-1 reset point) is current.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe the rejection must be for the index we last probed (next-1).
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** Whether sending appends to this follower is held back (probe sent, window full, or snapshot pending). */
  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.msgAppFlowPaused;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }

  toStatus(): ProgressStatus {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      isLearner: this.isLearner,
      recentActive: this.recentActive,
      paused: this.isPaused(),
      inflight: this.inflights.count,
      pendingSnapshot: this.pendingSnapshot,
    };
  }
}
