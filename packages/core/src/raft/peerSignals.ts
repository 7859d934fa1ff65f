import { jointVoteResult } from "../quorum/joint.js";
import type { Raft } from "./raft.js";
import { message, type NodeId } from "./types.js";

/*
 * What the transport learns about a peer's process, beyond lost messages, and what Raft makes
 * of it. Both signals only hasten what timeouts would do anyway: pre-vote and check-quorum
 * still decide every election, so a wrong signal costs at most an election that fails.
 */

/**
 * The transport found no process at `id`'s address: a connection to it was refused
 * (ECONNREFUSED), which a live process never causes, however slow or cut off it is (those
 * time out). A follower whose leader that is stops waiting out the election timeout for it:
 * it forgets it (so it grants votes at once) and campaigns within the short timeouts of
 * `campaignSoonAfterStart`, by pre-vote.
 *
 * Only with `campaignSoonAfterStart`: with leader leases (`ignoreVotesAfterStart`), a follower
 * must refuse votes for a full election timeout after it last heard from its leader, whatever
 * it learns since; a refused connection is no proof that the leader stopped serving.
 */
export function peerGone(r: Raft, id: NodeId): void {
  if (!r.cfg.campaignSoonAfterStart || r.role !== "follower" || r.lead !== id) return;
  r.lead = null;
  r.seekingLeader = true;
  r.electionElapsed = 0;
  r.resetRandomizedElectionTimeout();
  r.logger.info(
    `node ${r.id}: [term ${r.term}] its leader ${id} refused the connection (its process is not running); ` +
      `campaigning within ${r.randomizedElectionTimeout} ticks instead of waiting out the election timeout`,
  );
}

/**
 * The transport (re)connected to `id`: its process is up, perhaps just restarted. A leader
 * sends it a heartbeat at once rather than at its next heartbeat tick, so a restarted follower
 * learns who leads before it would campaign. With `campaignSoonAfterStart`, a node that knows
 * of no leader and is past its listening window campaigns at once (a pre-candidate asks that
 * voter at once): with a voter back, a quorum may be reachable now.
 */
export function peerReachable(r: Raft, id: NodeId): void {
  if (id === r.id || !r.trk.progress.has(id)) return;
  if (r.role === "leader") {
    r.sendHeartbeat(id, null);
    return;
  }
  if (!r.cfg.campaignSoonAfterStart || !r.trk.isVoter(id) || r.lead !== null || !r.seekingLeader) return;
  if (r.role === "preCandidate") {
    r.logger.info(`node ${r.id}: voter ${id} is reachable again; asking it for its pre-vote`);
    const logTerm = r.raftLog.lastTerm();
    const index = r.raftLog.lastIndex();
    r.send(message({ type: "preVote", to: id, term: r.term + 1, index, logTerm }));
  } else if (r.role === "follower" && !listening(r) && r.promotable()) {
    r.logger.info(`node ${r.id}: voter ${id} is reachable again and no leader is known; campaigning now`);
    r.electionElapsed = 0;
    r.hup(r.cfg.preVote ? "preElection" : "election");
  }
}

/**
 * With `campaignSoonAfterStart`: whether this node is in its listening window after start,
 * during which it neither campaigns nor votes, unless a quorum of voters is known to have no
 * leader (see {@link listeningIgnoresVotes}).
 */
export function listening(r: Raft): boolean {
  return r.ticksSinceStart < r.listenTicksAfterStart();
}

/**
 * With `campaignSoonAfterStart`, during the listening window: whether a vote request from
 * `from` is ignored. The window is there so that a live leader's heartbeat reaches this
 * restarted node before it helps elect anyone. A voter that asks for a vote knows of no leader;
 * once those that asked, with this node (which knows of none either), make a quorum, no leader
 * can have a quorum of followers: nothing is left to protect, and waiting out the window would
 * only delay the election (e.g. a survivor whose leader is gone, asking a restarted member).
 */
export function listeningIgnoresVotes(r: Raft, from: NodeId): boolean {
  if (r.trk.isVoter(from)) r.votersWithoutLeader.add(from);
  const votes = new Map<NodeId, boolean>([[r.id, true]]);
  for (const id of r.votersWithoutLeader) votes.set(id, true);
  return jointVoteResult(r.trk.config.voters, votes) !== "won";
}
