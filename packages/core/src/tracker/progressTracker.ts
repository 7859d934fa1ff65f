import { jointCommittedIndex, jointVoteResult, jointVoterIds } from "../quorum/joint.js";
import type { VoteResult } from "../quorum/voteResult.js";
import type { ConfState, NodeId } from "../raft/types.js";
import { Progress } from "./progress.js";

/** The active membership as the tracker uses it. */
export interface TrackerConfig {
  voters: [incoming: Set<NodeId>, outgoing: Set<NodeId>];
  /** Learners: receive the log, never vote. Disjoint from voters. */
  learners: Set<NodeId>;
  /** Outgoing voters that become learners when the joint config is left. */
  learnersNext: Set<NodeId>;
  autoLeave: boolean;
}

export function emptyTrackerConfig(): TrackerConfig {
  return { voters: [new Set(), new Set()], learners: new Set(), learnersNext: new Set(), autoLeave: false };
}

export function trackerConfigToConfState(c: TrackerConfig): ConfState {
  return {
    voters: [...c.voters[0]].sort(),
    learners: [...c.learners].sort(),
    votersOutgoing: [...c.voters[1]].sort(),
    learnersNext: [...c.learnersNext].sort(),
    autoLeave: c.autoLeave,
  };
}

/** Whether the config is joint (an outgoing voter set is present). */
export function isJoint(c: TrackerConfig): boolean {
  return c.voters[1].size > 0;
}

/** The leader's view of the cluster: the membership, each member's {@link Progress}, and the votes of an election. */
export class ProgressTracker {
  config: TrackerConfig = emptyTrackerConfig();
  progress = new Map<NodeId, Progress>();
  votes = new Map<NodeId, boolean>();
  readonly maxInflightMsgs: number;
  readonly maxInflightBytes: number;

  constructor(maxInflightMsgs: number, maxInflightBytes: number) {
    this.maxInflightMsgs = maxInflightMsgs;
    this.maxInflightBytes = maxInflightBytes;
  }

  newProgress(next: number, isLearner: boolean): Progress {
    return new Progress(next, isLearner, this.maxInflightMsgs, this.maxInflightBytes);
  }

  isVoter(id: NodeId): boolean {
    return this.config.voters[0].has(id) || this.config.voters[1].has(id);
  }

  /** The largest index acknowledged by a quorum (of both halves, if joint). */
  committed(): number {
    return jointCommittedIndex(this.config.voters, (id) => this.progress.get(id)?.match);
  }

  /** Whether a quorum was recently active (used by check-quorum). */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) {
      if (!pr.isLearner) votes.set(id, pr.recentActive);
    }
    return jointVoteResult(this.config.voters, votes) === "won";
  }

  /** Voter ids in a stable (sorted) order, so iteration order never depends on history. */
  voterIds(): NodeId[] {
    return [...jointVoterIds(this.config.voters)].sort();
  }

  /** Every member (voters and learners) in a stable order. */
  memberIds(): NodeId[] {
    return [...this.progress.keys()].sort();
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a vote; only the first answer of each voter counts. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** Granted and rejected counts and the outcome so far. */
  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: jointVoteResult(this.config.voters, this.votes) };
  }
}
