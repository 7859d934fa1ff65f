import {
  LeaderChangedError,
  ProposalDroppedError,
  ProposalLostError,
  StoppedError,
  TimeoutError,
} from "../errors.js";

/** Why a proposal failed, as an observer counts it. */
export type ProposalFailure = "dropped" | "lost" | "leader_changed" | "timeout" | "stopped" | "error";

/**
 * Hooks a {@link RaftNode} calls as it works, so metrics can be kept without the core knowing
 * any metrics library (the SDK feeds prom-client from them). Every hook is optional and is
 * called synchronously on the node's loop: it must return quickly and must not throw.
 */
export interface RaftNodeObserver {
  /** A proposal was accepted for submission; exactly one of committed or failed follows. */
  proposalStarted?(): void;
  /** A proposal of this node was applied here. */
  proposalCommitted?(): void;
  proposalFailed?(reason: ProposalFailure): void;
  /** A batch of committed entries went through the state machine. */
  applied?(entries: number, durationMs: number): void;
  /** This node took a snapshot of its state machine and compacted its log (`durationMs` covers both). */
  snapshotTaken?(index: number, durationMs: number): void;
  /** This node restored its state machine from a snapshot (received from the leader). */
  snapshotRestored?(index: number, durationMs: number): void;
}

/** How an observer counts the failure `e` of a proposal. */
export function failureOf(e: unknown): ProposalFailure {
  if (e instanceof ProposalDroppedError) return "dropped";
  if (e instanceof ProposalLostError) return "lost";
  if (e instanceof LeaderChangedError) return "leader_changed";
  if (e instanceof TimeoutError) return "timeout";
  if (e instanceof StoppedError) return "stopped";
  return "error";
}
