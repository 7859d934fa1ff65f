import type { NodeId } from "../raft/types.js";
import { type MajorityConfig, majorityCommittedIndex, majorityVoteResult } from "./majority.js";
import type { VoteResult } from "./voteResult.js";

/**
 * Two majority configs that must both agree: [incoming, outgoing]. Outside joint consensus
 * the outgoing config is empty and the joint config behaves as the incoming majority alone.
 */
export type JointConfig = readonly [incoming: MajorityConfig, outgoing: MajorityConfig];

/** The largest index committed in both constituent majorities. */
export function jointCommittedIndex(c: JointConfig, acked: (id: NodeId) => number | undefined): number {
  return Math.min(majorityCommittedIndex(c[0], acked), majorityCommittedIndex(c[1], acked));
}

/** Won only when both majorities won; lost as soon as either lost. */
export function jointVoteResult(c: JointConfig, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const r1 = majorityVoteResult(c[0], votes);
  const r2 = majorityVoteResult(c[1], votes);
  if (r1 === r2) return r1;
  if (r1 === "lost" || r2 === "lost") return "lost";
  return "pending";
}

/** Every voter of either half, each once. */
export function jointVoterIds(c: JointConfig): Set<NodeId> {
  return new Set([...c[0], ...c[1]]);
}
