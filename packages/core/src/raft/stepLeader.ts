import { decodeConfChange, leavesJoint } from "../confchange/confChange.js";
import { ProposalDroppedError } from "../errors.js";
import { jointVoteResult } from "../quorum/joint.js";
import { isJoint } from "../tracker/progressTracker.js";
import type { Raft } from "./raft.js";
import type { Message, NodeId } from "./types.js";

/** The leader's message handler (Raft paper §5.3, thesis §3.10, §6.2, §6.4). */
export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case "beat":
      r.bcastHeartbeat();
      return;
    case "checkQuorum":
      if (!r.trk.quorumActive()) {
        r.logger.warn(
          `node ${r.id}: stepping down at term ${r.term}: no quorum was active in the last election timeout`,
        );
        // It knows the cluster has no leader now: with campaignSoonAfterStart it campaigns
        // again within half an election timeout (by pre-vote, so in vain but harmless while it
        // is still cut off), e.g. as soon as restarted followers are back.
        r.seekingLeader = true;
        r.becomeFollower(r.term, null);
      }
      for (const [id, pr] of r.trk.progress) if (id !== r.id) pr.recentActive = false;
      return;
    case "propose":
      propose(r, m);
      return;
    case "readIndex":
      readIndex(r, m);
      return;
    default:
  }

  const pr = r.trk.progress.get(m.from);
  if (!pr) {
    r.logger.debug(`node ${r.id}: no progress for ${m.from}; ignoring ${m.type}`);
    return;
  }
  switch (m.type) {
    case "appendResponse": {
      pr.recentActive = true;
      if (m.reject) {
        // With a term in the hint the leader skips every entry of a term the follower lacks.
        const probe =
          m.logTerm > 0 ? r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index : m.rejectHint;
        r.logger.debug(`node ${r.id}: ${m.from} rejected append at ${m.index}; next probe at ${probe + 1}`);
        if (pr.maybeDecrTo(m.index, probe)) {
          if (pr.state === "replicate") pr.becomeProbe();
          r.sendAppend(m.from);
        }
        return;
      }
      const wasPaused = pr.isPaused();
      // A response matching what a probe already knew still unpauses it.
      if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === "probe")) return;
      if (pr.state === "probe") pr.becomeReplicate();
      else if (pr.state === "snapshot" && pr.match + 1 >= r.raftLog.firstIndex()) {
        // The follower caught up past what was compacted: replicate normally again.
        r.logger.info(`node ${r.id}: ${m.from} recovered from its snapshot (match ${pr.match})`);
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === "replicate") pr.inflights.freeLE(m.index);
      pr.msgAppFlowPaused = false;
      if (r.maybeCommit()) r.onCommitAdvanced();
      else if (wasPaused) r.sendAppend(m.from);
      // Keep the pipeline full: send while there are entries and room in the window.
      while (r.maybeSendAppend(m.from, false)) {}
      if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) {
        r.logger.info(
          `node ${r.id}: ${m.from} caught up; sending timeout-now to complete the leadership transfer`,
        );
        r.sendTimeoutNow(m.from);
      }
      return;
    }
    case "heartbeatResponse": {
      pr.recentActive = true;
      pr.msgAppFlowPaused = false;
      // Appends in flight may have been lost; free one slot so replication can resume.
      if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirst();
      if (pr.match < r.raftLog.lastIndex()) r.sendAppend(m.from);
      if (m.context === null) return;
      const acks = r.readOnly.recvAck(m.from, m.context);
      if (acks === null) return;
      const votes = new Map<NodeId, boolean>();
      for (const id of acks) votes.set(id, true);
      if (jointVoteResult(r.trk.config.voters, votes) !== "won") return;
      for (const rs of r.readOnly.advance(m.context)) r.respondToReadIndex(rs.req, rs.index);
      return;
    }
    case "snapshotStatus":
      if (pr.state !== "snapshot") return;
      if (m.reject) {
        r.logger.info(`node ${r.id}: sending the snapshot to ${m.from} failed; probing again`);
        pr.pendingSnapshot = 0;
      }
      pr.becomeProbe();
      // Wait for a heartbeat response before the next probe, so a failing peer is not flooded.
      pr.msgAppFlowPaused = true;
      return;
    case "unreachable":
      // An append to it was probably lost; fall back to probing.
      if (pr.state === "replicate") pr.becomeProbe();
      return;
    case "transferLeader":
      transferLeader(r, m, pr.isLearner);
      return;
    default:
  }
}

function propose(r: Raft, m: Message): void {
  if (m.entries.length === 0) throw new Error(`node ${r.id}: stepped an empty proposal`);
  if (!r.trk.progress.has(r.id)) {
    throw new ProposalDroppedError(r.id, "not a member", "this leader was removed from the cluster");
  }
  if (r.leadTransferee !== null) {
    throw new ProposalDroppedError(r.id, "leadership transfer in progress", `to ${r.leadTransferee}`);
  }
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i]!;
    if (e.type !== "confChange") continue;
    const cc = decodeConfChange(e.data);
    const alreadyPending = r.pendingConfIndex > r.raftLog.applied;
    const alreadyJoint = isJoint(r.trk.config);
    const wantsLeave = leavesJoint(cc);
    let refused: string | null = null;
    if (alreadyPending)
      refused = `a change at index ${r.pendingConfIndex} is not yet applied (applied ${r.raftLog.applied})`;
    else if (alreadyJoint && !wantsLeave)
      refused = "the config is joint; propose an empty change to leave it first";
    else if (!alreadyJoint && wantsLeave) refused = "the config is not joint; there is nothing to leave";
    if (refused !== null) throw new ProposalDroppedError(r.id, "configuration change pending", refused);
    r.pendingConfIndex = r.raftLog.lastIndex() + i + 1;
  }
  if (!r.appendEntries(m.entries)) {
    throw new ProposalDroppedError(
      r.id,
      "uncommitted size limit",
      `${r.uncommittedSize} bytes uncommitted, limit ${r.cfg.maxUncommittedEntriesSize}`,
    );
  }
  r.bcastAppend();
}

function readIndex(r: Raft, m: Message): void {
  // Until an entry of this term commits, the commit index may be behind the cluster's, even on
  // a lone voter whose stored commit lagged before a restart (thesis §6.4 step 1).
  if (!r.committedEntryInCurrentTerm()) {
    r.pendingReadIndexMessages.push(m);
    return;
  }
  // A lone voter needs no confirmation.
  if (r.trk.voterIds().length === 1) {
    r.respondToReadIndex(m, r.raftLog.committed);
    return;
  }
  const requester = m.from === "" ? r.id : m.from;
  const beatCtx = r.readOnly.addRequest(r.raftLog.committed, m, requester);
  if (beatCtx === null) return;
  r.readOnly.recvAck(r.id, beatCtx);
  r.bcastHeartbeat(beatCtx);
}

function transferLeader(r: Raft, m: Message, isLearner: boolean): void {
  const target = m.from;
  if (isLearner) {
    r.logger.info(`node ${r.id}: ignored transfer of leadership to learner ${target}`);
    return;
  }
  if (r.leadTransferee !== null) {
    if (r.leadTransferee === target) return;
    r.abortLeaderTransfer();
  }
  if (target === r.id) return;
  if (
    r
      .configsAfter(r.raftLog.applied, r.raftLog.lastIndex())
      .some(({ config }) => !config.voters[0].has(target) && !config.voters[1].has(target))
  ) {
    r.logger.info(
      `node ${r.id}: ignored transfer of leadership to ${target}: a configuration change in the log removes it`,
    );
    return;
  }
  r.logger.info(`node ${r.id}: transferring leadership at term ${r.term} to ${target}`);
  // The transfer must finish within one election timeout or it is aborted.
  r.electionElapsed = 0;
  r.leadTransferee = target;
  const pr = r.trk.progress.get(target)!;
  if (pr.match === r.raftLog.lastIndex()) r.sendTimeoutNow(target);
  else r.sendAppend(target);
}
