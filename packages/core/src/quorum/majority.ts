import type { NodeId } from "../raft/types.js";
import type { VoteResult } from "./voteResult.js";

/** A set of voters decided by simple majority. */
export type MajorityConfig = ReadonlySet<NodeId>;

/**
 * The largest index that a majority of `voters` have acknowledged, given each voter's acked
 * index. An empty config commits everything (it never constrains a joint config).
 */
export function majorityCommittedIndex(
  voters: MajorityConfig,
  acked: (id: NodeId) => number | undefined,
): number {
  const n = voters.size;
  if (n === 0) return Number.MAX_SAFE_INTEGER;
  const idx: number[] = [];
  for (const id of voters) idx.push(acked(id) ?? 0);
  idx.sort((a, b) => b - a);
  // The (n/2+1)-th highest acked index is held by a majority.
  return idx[Math.floor(n / 2)]!;
}

/**
 * Tallies `votes` (true: granted, false: rejected, absent: not yet answered) over a majority
 * config. An empty config wins, so that it never blocks a joint decision.
 */
export function majorityVoteResult(voters: MajorityConfig, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return "won";
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = Math.floor(voters.size / 2) + 1;
  if (granted >= q) return "won";
  if (granted + missing >= q) return "pending";
  return "lost";
}
