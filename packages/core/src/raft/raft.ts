import { configFromConfState, nextConfig } from "../confchange/changer.js";
import type { ConfChange } from "../confchange/confChange.js";
import { decodeConfChange } from "../confchange/confChange.js";
import { CompactedError, ProposalDroppedError } from "../errors.js";
import { jointCommittedIndex } from "../quorum/joint.js";
import type { VoteResult } from "../quorum/voteResult.js";
import { ProgressTracker, type TrackerConfig, trackerConfigToConfState } from "../tracker/progressTracker.js";
import { type RaftConfig, type ResolvedConfig, resolveConfig } from "./config.js";
import { entriesSize, payloadSize } from "./entries.js";
import type { Logger } from "./logger.js";
import { listening, listeningIgnoresVotes } from "./peerSignals.js";
import { RaftLog } from "./raftLog.js";
import type { Random } from "./random.js";
import { contextKey, ReadOnly } from "./readOnly.js";
import { stepCandidate } from "./stepCandidate.js";
import { stepFollower } from "./stepFollower.js";
import { stepLeader } from "./stepLeader.js";
import type {
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  ReadState,
  Role,
  Snapshot,
  SoftState,
} from "./types.js";
import { message, voteResponseType } from "./types.js";

/** Why a campaign starts: a pre-election, a real election, or a leadership transfer (which skips pre-vote and the lease check). */
export type CampaignType = "preElection" | "election" | "transfer";

const TRANSFER_CONTEXT = new TextEncoder().encode("transfer");

function isTransferContext(ctx: Uint8Array | null): boolean {
  if (ctx === null || ctx.length !== TRANSFER_CONTEXT.length) return false;
  return ctx.every((b, i) => b === TRANSFER_CONTEXT[i]);
}

/** Most reads a follower remembers having forwarded; a retry beyond that is asked anew. */
const MAX_FORWARDED_READS = 4096;

/** A role's message handler. */
export type StepFn = (r: Raft, m: Message) => void;

/**
 * The Raft consensus state machine of one node (Raft paper §5, thesis ch. 3, 4, 6, 9).
 * Deterministic and free of I/O: input arrives through {@link step} and {@link tick},
 * output accumulates in `msgs`, `readStates` and the log, and is collected by RawNode.
 *
 * @internal Applications use {@link RawNode}.
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId | null = null;
  lead: NodeId | null = null;
  role: Role = "follower";
  readonly raftLog: RaftLog;
  readonly trk: ProgressTracker;
  readonly readOnly = new ReadOnly();
  readStates: ReadState[] = [];
  /** Messages to send, in order. Drained by RawNode.ready(). */
  msgs: Message[] = [];
  isLearner = false;
  /** The member a leadership transfer is going to, if one is in progress. */
  leadTransferee: NodeId | null = null;
  /** No new configuration change may be proposed until the entry at this index is applied. */
  pendingConfIndex = 0;
  /** Payload bytes of entries the leader appended that are not yet handed out for applying. */
  uncommittedSize = 0;
  /** While true, a leader appends proposals without sending them (see RawNode.proposeTogether). */
  holdAppends = false;
  /** Reads that arrived before this leader committed an entry of its term (thesis §6.4 step 1). */
  pendingReadIndexMessages: Message[] = [];

  electionElapsed = 0;
  heartbeatElapsed = 0;
  /** Ticks since this instance was created, counted up to the election timeout (see `ignoreVotesAfterStart`). */
  ticksSinceStart = 0;
  /**
   * Whether this node knows of no leader: true from its start until it hears from a leader or
   * leads, and again when it steps down as leader for lack of a quorum. With
   * `campaignSoonAfterStart` its election timeouts are short meanwhile.
   */
  seekingLeader = true;
  /**
   * Set once this leader sent timeout-now in this term: the target may win at any moment (its
   * election skips the voters' lease check), so nothing proves leadership until the term ends.
   */
  timeoutNowSent = false;
  /**
   * Contexts of reads this follower forwarded to the leader in this term and that were not
   * answered yet (insertion order, bounded by {@link MAX_FORWARDED_READS}).
   */
  readonly forwardedReads = new Set<string>();
  randomizedElectionTimeout = 0;
  /** Voters that asked this node for a (pre-)vote in its listening window: they know of no leader. */
  readonly votersWithoutLeader = new Set<NodeId>();

  readonly cfg: ResolvedConfig;
  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  readonly logger: Logger;
  readonly random: Random;

  tick: () => void = () => this.tickElection();
  stepFn: StepFn = stepFollower;

  constructor(config: RaftConfig) {
    this.cfg = resolveConfig(config);
    this.id = this.cfg.id;
    this.logger = this.cfg.logger;
    this.random = this.cfg.random;
    this.electionTimeout = this.cfg.electionTick;
    this.heartbeatTimeout = this.cfg.heartbeatTick;
    this.raftLog = new RaftLog(this.cfg.storage, this.id, this.logger, this.cfg.maxCommittedSizePerReady);
    this.trk = new ProgressTracker(this.cfg.maxInflightMsgs, this.cfg.maxInflightBytes);

    const { hardState, confState } = this.cfg.storage.initialState();
    this.switchToConfig(configFromConfState(confState));
    if (hardState.term !== 0 || hardState.vote !== null || hardState.commit !== 0) this.loadState(hardState);
    if (this.cfg.applied > 0) this.raftLog.appliedTo(this.cfg.applied);
    this.becomeFollower(this.term, null);
    this.logger.info(
      `node ${this.id}: starting at term ${this.term}, commit ${this.raftLog.committed}, applied ${this.raftLog.applied}, ` +
        `last index ${this.raftLog.lastIndex()}, last term ${this.raftLog.lastTerm()}, voters [${this.trk.voterIds().join(",")}]`,
    );
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.role };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  loadState(hs: HardState): void {
    if (hs.commit > this.raftLog.lastIndex()) {
      throw new Error(
        `node ${this.id}: stored commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]; the log is missing entries`,
      );
    }
    // What storage compacted or snapshotted is committed even if the stored commit lags behind.
    this.raftLog.committed = Math.max(hs.commit, this.raftLog.committed);
    this.term = hs.term;
    this.vote = hs.vote;
  }

  /** Queues a message, filling in the sender and, where the protocol wants it, the term. */
  send(m: Message): void {
    // A forwarded message keeps its origin: a follower's read, or a transfer's target.
    if (m.from === "") m.from = this.id;
    if (
      m.type === "vote" ||
      m.type === "voteResponse" ||
      m.type === "preVote" ||
      m.type === "preVoteResponse"
    ) {
      // Vote messages carry the term they are about, which for pre-votes is a future term.
      if (m.term === 0) throw new Error(`node ${this.id}: ${m.type} must carry a term`);
    } else if (m.type !== "propose" && m.type !== "readIndex") {
      // Forwarded proposals and reads carry no term: the leader treats them as local.
      m.term = this.term;
    }
    this.msgs.push(m);
  }

  // ---- roles (Raft paper §5.2) ----

  reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = null;
    }
    this.lead = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const next = this.raftLog.lastIndex() + 1;
    for (const [id, pr] of this.trk.progress) {
      const fresh = this.trk.newProgress(next, pr.isLearner);
      // The leader counts itself only for what is durable (Raft thesis §10.2.1).
      if (id === this.id) fresh.match = this.lastStableIndex();
      this.trk.progress.set(id, fresh);
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly.clear();
    this.pendingReadIndexMessages = [];
    this.timeoutNowSent = false;
    this.forwardedReads.clear();
  }

  /** The last index known to be on this node's stable storage. */
  lastStableIndex(): number {
    return Math.min(this.raftLog.unstable.offset - 1, this.raftLog.lastIndex());
  }

  becomeFollower(term: number, lead: NodeId | null): void {
    this.stepFn = stepFollower;
    this.reset(term);
    this.tick = () => this.tickElection();
    this.lead = lead;
    this.role = "follower";
    this.logger.info(
      `node ${this.id}: became follower at term ${this.term}${lead ? ` (leader ${lead})` : ""}`,
    );
  }

  becomeCandidate(): void {
    if (this.role === "leader") throw new Error(`node ${this.id}: invalid transition leader -> candidate`);
    this.stepFn = stepCandidate;
    this.reset(this.term + 1);
    this.tick = () => this.tickElection();
    this.vote = this.id;
    this.role = "candidate";
    this.logger.info(`node ${this.id}: became candidate at term ${this.term}`);
  }

  becomePreCandidate(): void {
    if (this.role === "leader")
      throw new Error(`node ${this.id}: invalid transition leader -> pre-candidate`);
    // A pre-candidate changes neither its term nor its vote (Raft thesis §9.6).
    this.stepFn = stepCandidate;
    this.trk.resetVotes();
    this.tick = () => this.tickElection();
    this.lead = null;
    this.role = "preCandidate";
    this.logger.info(`node ${this.id}: became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    if (this.role === "follower") throw new Error(`node ${this.id}: invalid transition follower -> leader`);
    this.stepFn = stepLeader;
    this.reset(this.term);
    this.tick = () => this.tickHeartbeat();
    this.lead = this.id;
    this.role = "leader";
    this.seekingLeader = false;
    const self = this.trk.progress.get(this.id);
    if (self) {
      self.becomeReplicate();
      self.match = this.lastStableIndex();
      self.recentActive = true;
    }
    // Conservatively assume the log's tail may hold a configuration change (etcd does the same).
    this.pendingConfIndex = this.raftLog.lastIndex();
    // An empty entry of the new term lets the leader commit everything before it (Raft paper §5.4.2).
    if (!this.appendEntries([{ term: 0, index: 0, type: "normal", data: new Uint8Array() }])) {
      throw new Error(`node ${this.id}: a new leader's empty entry was refused`);
    }
    this.logger.info(`node ${this.id}: became leader at term ${this.term}`);
  }

  resetRandomizedElectionTimeout(): void {
    if (this.cfg.campaignSoonAfterStart && this.seekingLeader) {
      // No leader known: soon, once the listening window is over (campaignSoonAfterStart).
      const first = Math.max(1, this.listenTicksAfterStart());
      const last = Math.max(first, Math.floor(this.electionTimeout / 2));
      this.randomizedElectionTimeout = first + this.random.int(last - first + 1);
    } else {
      this.randomizedElectionTimeout = this.electionTimeout + this.random.int(this.electionTimeout);
    }
  }

  /**
   * A follower heard from its leader `from`: the election timer starts over. The short timeouts
   * of `campaignSoonAfterStart` are for a node that knows of no leader; once one is heard from,
   * the usual [electionTick, 2·electionTick) applies, so a late heartbeat does not make it
   * campaign.
   */
  heardFromLeader(from: NodeId): void {
    this.electionElapsed = 0;
    this.lead = from;
    if (this.seekingLeader) {
      this.seekingLeader = false;
      this.resetRandomizedElectionTimeout();
    }
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  /** Whether this node may become leader: a voter of the current config, with no snapshot pending. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasNextOrInProgressSnapshot();
  }

  // ---- ticks ----

  tickElection(): void {
    this.countTickSinceStart();
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(message({ type: "hup", from: this.id }));
    }
  }

  tickHeartbeat(): void {
    this.countTickSinceStart();
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) this.step(message({ type: "checkQuorum", from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned (Raft thesis §3.10).
      if (this.role === "leader" && this.leadTransferee !== null) {
        this.logger.info(
          `node ${this.id}: leadership transfer to ${this.leadTransferee} timed out; aborting it`,
        );
        this.abortLeaderTransfer();
      }
    }
    if (this.role !== "leader") return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(message({ type: "beat", from: this.id }));
    }
  }

  countTickSinceStart(): void {
    if (this.ticksSinceStart < this.electionTimeout) this.ticksSinceStart++;
  }

  /**
   * With `campaignSoonAfterStart`: the ticks after start during which this node neither
   * campaigns nor grants votes, two heartbeat intervals, so that a live leader's heartbeat
   * reaches it first. Without this, two members restarted together could elect one of
   * themselves before hearing that the third still leads, deposing it for nothing.
   */
  listenTicksAfterStart(): number {
    return Math.min(2 * this.heartbeatTimeout, Math.floor(this.electionTimeout / 4));
  }

  /**
   * Whether vote requests are ignored because a live leader may exist (Raft thesis §4.2.3):
   * one was heard from within the election timeout, or this node started less than an election
   * timeout ago and so cannot know (`ignoreVotesAfterStart`; leader leases rest on this), or it
   * started within {@link listenTicksAfterStart} (`campaignSoonAfterStart`) and the voters that
   * asked `from` included do not yet make a quorum without a leader (see listeningIgnoresVotes).
   */
  inLeaderLease(from?: NodeId): boolean {
    if (!this.cfg.checkQuorum) return false;
    if (this.lead !== null && this.electionElapsed < this.electionTimeout) return true;
    if (this.cfg.campaignSoonAfterStart)
      return listening(this) && (from === undefined || listeningIgnoresVotes(this, from));
    return this.cfg.ignoreVotesAfterStart && this.ticksSinceStart < this.electionTimeout;
  }

  // ---- elections (Raft paper §5.2, thesis §9.6) ----

  hup(t: CampaignType): void {
    if (this.role === "leader") return;
    if (!this.promotable()) {
      this.logger.warn(`node ${this.id}: is not a voter (or has a snapshot pending) and cannot campaign`);
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warn(
        `node ${this.id}: cannot campaign at term ${this.term}: configuration changes are not yet applied`,
      );
      return;
    }
    this.campaign(t);
  }

  hasUnappliedConfChanges(): boolean {
    const log = this.raftLog;
    if (log.applied >= log.committed) return false;
    const lo = Math.max(log.applied + 1, log.firstIndex());
    for (const e of log.slice(lo, log.committed + 1)) if (e.type === "confChange") return true;
    return false;
  }

  campaign(t: CampaignType): void {
    let voteMsg: "vote" | "preVote";
    let term: number;
    if (t === "preElection") {
      this.becomePreCandidate();
      voteMsg = "preVote";
      // Pre-vote asks for the term a real election would use, without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = "vote";
      term = this.term;
    }
    if (this.poll(this.id, voteResponseType(voteMsg), true) === "won") {
      // A single-voter cluster wins at once.
      if (t === "preElection") this.campaign("election");
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of this.trk.voterIds()) {
      if (id === this.id) continue;
      this.logger.info(
        `node ${this.id}: [logterm ${lastTerm}, index ${lastIndex}] sent ${voteMsg} request to ${id} at term ${term}`,
      );
      this.send(
        message({
          type: voteMsg,
          to: id,
          term,
          index: lastIndex,
          logTerm: lastTerm,
          context: t === "transfer" ? TRANSFER_CONTEXT : null,
        }),
      );
    }
  }

  poll(id: NodeId, type: "voteResponse" | "preVoteResponse", granted: boolean): VoteResult {
    this.logger.info(
      `node ${this.id}: received ${granted ? "granting" : "rejecting"} ${type} from ${id} at term ${this.term}`,
    );
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes().result;
  }

  // ---- the step function (Raft paper §5.1: every message first settles the term) ----

  step(m: Message): void {
    if (m.term === 0) {
      // local message, or a forwarded proposal/read
    } else if (m.term > this.term) {
      if (m.type === "vote" || m.type === "preVote") {
        const force = isTransferContext(m.context);
        // A request from the leader itself is not ignored: it asks because it no longer leads
        // (it stepped down), so there is no leadership left to protect, nor a lease (a leader's
        // lease ends when it steps down).
        if (!force && m.from !== this.lead && this.inLeaderLease(m.from)) {
          // Heard from a live leader within the election timeout: ignore (Raft thesis §4.2.3).
          const why =
            this.lead === null
              ? `it started ${this.ticksSinceStart} ticks ago and may not have heard from a live leader yet`
              : `lease with ${this.lead} has not expired`;
          this.logger.info(
            `node ${this.id}: [term ${this.term}] ignored ${m.type} from ${m.from} at term ${m.term}: ${why}`,
          );
          return;
        }
      }
      if (m.type === "preVote") {
        // Never change term on a pre-vote request.
      } else if (m.type === "preVoteResponse" && !m.reject) {
        // The term in a granted pre-vote is the one we will campaign for; it is bumped on winning.
      } else {
        this.logger.info(
          `node ${this.id}: [term ${this.term}] received ${m.type} from ${m.from} at higher term ${m.term}`,
        );
        if (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot")
          this.becomeFollower(m.term, m.from);
        else this.becomeFollower(m.term, null);
      }
    } else if (m.term < this.term) {
      if (m.type === "heartbeat" || m.type === "append") {
        // A stale leader: tell it the current term so it steps down (Raft paper §5.1). Without
        // this a node with a higher term whose vote requests reach no current voter (a stale
        // configuration, or pre-vote and check-quorum keeping it quiet) could never rejoin.
        this.send(message({ type: "appendResponse", to: m.from }));
      } else if (m.type === "preVote" || m.type === "vote") {
        // Reject with the current term so a candidate that fell behind catches up (§5.1):
        // otherwise one whose requests reach only nodes ahead of it could stay behind forever.
        this.send(this.voteRejection(m.type, m.from));
      }
      return;
    }

    if ((m.type === "voteResponse" || m.type === "preVoteResponse") && m.reject) this.learnCommitFromVoter(m);

    switch (m.type) {
      case "hup":
        this.hup(this.cfg.preVote ? "preElection" : "election");
        return;
      case "vote":
      case "preVote": {
        const canVote =
          this.vote === m.from ||
          (this.vote === null && this.lead === null) ||
          (m.type === "preVote" && m.term > this.term);
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          this.logger.info(
            `node ${this.id}: [term ${this.term}] granted ${m.type} to ${m.from} at term ${m.term}`,
          );
          // A granted vote answers with the term asked about (for pre-votes, the future term).
          this.send(message({ type: voteResponseType(m.type), to: m.from, term: m.term }));
          if (m.type === "vote") {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.logger.info(
            `node ${this.id}: [term ${this.term}, vote ${this.vote}] rejected ${m.type} from ${m.from} at term ${m.term}`,
          );
          this.send(this.voteRejection(m.type, m.from));
        }
        return;
      }
      default:
        this.stepFn(this, m);
    }
  }

  /**
   * The answer refusing a (pre-)vote request from `to`, at this node's term. It also says how far
   * this node knows the log to be committed: its commit index and the term of its entry there.
   */
  voteRejection(request: "vote" | "preVote", to: NodeId): Message {
    const commit = this.raftLog.committed;
    const logTerm = this.raftLog.term(commit);
    return message({
      type: voteResponseType(request),
      to,
      term: this.term,
      reject: true,
      ...(logTerm !== null && { commit, logTerm }),
    });
  }

  /**
   * Commits as far as a voter that refused this node knows the log to be committed, if this
   * node holds the same entry there: same index and term means the same log up to it (Raft paper
   * §5.3), and that prefix is committed whoever learnt it. A leader learns nothing this way.
   *
   * Without this, a 5→3 shrink whose leader died having told only the two removed nodes that
   * leaving the joint configuration committed stayed leaderless for good: the three that stay
   * still count the outgoing voters, so they need a removed node's vote; a removed node never
   * campaigns, and refuses them while it holds entries they lack. Learning the commit, they
   * apply the leave and need only each other.
   */
  learnCommitFromVoter(m: Message): void {
    if (this.role === "leader" || m.commit <= this.raftLog.committed) return;
    if (!this.raftLog.matchTerm(m.commit, m.logTerm)) return;
    this.logger.info(
      `node ${this.id}: ${m.from} knows the log committed up to entry ${m.commit} (term ${m.logTerm}), which this node holds; committing up to it`,
    );
    this.raftLog.commitTo(m.commit);
    if (this.role !== "follower" && this.hasUnappliedConfChanges()) {
      // Its votes are counted with the configuration it has applied, which is no longer the
      // latest committed one (it may even remove this node): campaign again once it is applied.
      this.logger.info(
        `node ${this.id}: gives up its campaign at term ${this.term} until it applies the configuration changes it learnt were committed`,
      );
      this.becomeFollower(this.term, null);
    }
  }

  // ---- replication (Raft paper §5.3) ----

  /**
   * Appends entries at the end of the leader's log, stamping term and index. Returns false
   * (and appends nothing) when the uncommitted size limit would be exceeded.
   */
  appendEntries(es: Entry[]): boolean {
    const li = this.raftLog.lastIndex();
    for (let i = 0; i < es.length; i++) {
      es[i]!.term = this.term;
      es[i]!.index = li + 1 + i;
    }
    if (!this.increaseUncommittedSize(es)) {
      this.logger.warn(
        `node ${this.id}: appending entries would exceed maxUncommittedEntriesSize; dropping them`,
      );
      return false;
    }
    this.raftLog.append(es);
    return true;
  }

  increaseUncommittedSize(es: readonly Entry[]): boolean {
    const s = payloadSize(es);
    const max = this.cfg.maxUncommittedEntriesSize;
    // Always admit something when nothing is uncommitted, so one large entry cannot block forever.
    if (max > 0 && this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > max) return false;
    this.uncommittedSize += s;
    return true;
  }

  reduceUncommittedSize(s: number): void {
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }

  /** Sends an append (or a snapshot) to `to` if it is not paused and there is something to send. */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.term(prevIndex);
    let ents: Entry[] | null = null;
    if (prevTerm !== null) {
      try {
        ents = this.raftLog.entries(pr.next, this.cfg.maxSizePerMsg);
      } catch (e) {
        if (!(e instanceof CompactedError)) throw e;
        ents = null;
      }
    }
    if (ents !== null && ents.length === 0 && !sendIfEmpty) return false;
    if (prevTerm === null || ents === null) return this.maybeSendSnapshot(to);
    const bytes = entriesSize(ents);
    const commit = this.raftLog.committed;
    this.send(message({ type: "append", to, index: prevIndex, logTerm: prevTerm, entries: ents, commit }));
    pr.sentCommit = Math.max(pr.sentCommit, commit);
    pr.sentEntries(ents.length, ents.length > 0 ? ents[ents.length - 1]!.index : prevIndex, bytes);
    return true;
  }

  /** The follower needs entries that were compacted: send the snapshot instead (Raft paper §7). */
  maybeSendSnapshot(to: NodeId): boolean {
    const pr = this.trk.progress.get(to)!;
    if (!pr.recentActive) {
      this.logger.debug(`node ${this.id}: not sending a snapshot to ${to}: it has not been active recently`);
      return false;
    }
    let snapshot: Snapshot;
    try {
      snapshot = this.raftLog.snapshot();
    } catch (e) {
      this.logger.debug(`node ${this.id}: snapshot for ${to} unavailable: ${(e as Error).message}`);
      return false;
    }
    if (snapshot.meta.index === 0)
      throw new Error(`node ${this.id}: needs a snapshot for ${to} but has none`);
    this.logger.info(
      `node ${this.id}: sending snapshot at index ${snapshot.meta.index} to ${to} (its next index ${pr.next} is compacted)`,
    );
    pr.becomeSnapshot(snapshot.meta.index);
    this.send(message({ type: "snapshot", to, snapshot }));
    return true;
  }

  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  bcastAppend(): void {
    for (const id of this.trk.memberIds()) if (id !== this.id) this.sendAppend(id);
  }

  sendHeartbeat(to: NodeId, context: Uint8Array | null): void {
    const pr = this.trk.progress.get(to);
    // Only commit what the follower is known to hold: a heartbeat must never advance a
    // follower's commit past entries it may not have.
    const commit = Math.min(pr?.match ?? 0, this.raftLog.committed);
    this.send(message({ type: "heartbeat", to, commit, context }));
    if (pr) pr.sentCommit = Math.max(pr.sentCommit, commit);
  }

  bcastHeartbeat(context: Uint8Array | null = this.readOnly.lastPendingRequestCtx()): void {
    for (const id of this.trk.memberIds()) if (id !== this.id) this.sendHeartbeat(id, context);
  }

  /** Advances commit to what a quorum holds, if that entry is of this term. */
  maybeCommit(): boolean {
    let index = this.trk.committed();
    const applied = this.raftLog.applied;
    if (this.pendingConfIndex > applied && index > applied) {
      // An entry after a configuration entry this leader has not applied yet also needs a
      // quorum of the configuration that entry creates: otherwise a leader elected with a
      // stale configuration could commit with a quorum the newer members never see.
      for (const { index: at, config } of this.configsAfter(
        applied,
        Math.min(index, this.pendingConfIndex),
      )) {
        if (index <= at) break;
        const acked = jointCommittedIndex(config.voters, (id) => this.trk.progress.get(id)?.match);
        index = Math.max(at, Math.min(index, acked));
      }
    }
    return this.raftLog.maybeCommit(index, this.term);
  }

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.term(this.raftLog.committed) === this.term;
  }

  /** On a leader: entries up to `index` are durable locally; count itself toward commit. */
  selfStable(index: number): void {
    if (this.role !== "leader") return;
    const pr = this.trk.progress.get(this.id);
    if (!pr?.maybeUpdate(index)) return;
    if (this.maybeCommit()) this.onCommitAdvanced();
  }

  /** A leader's commit moved: release reads waiting for this term's first commit and tell followers (see deferCommitBroadcast). */
  onCommitAdvanced(): void {
    this.releasePendingReadIndexMessages();
    if (!this.cfg.deferCommitBroadcast) {
      this.bcastAppend();
      return;
    }
    for (const id of this.trk.memberIds()) if (id !== this.id) this.maybeSendAppend(id, false);
  }

  /** Followers that can be sent an append now and were not sent the current commit index. */
  untoldOfCommit(): NodeId[] {
    if (this.role !== "leader") return [];
    const commit = this.raftLog.committed;
    const out: NodeId[] = [];
    for (const [id, pr] of this.trk.progress)
      if (id !== this.id && pr.sentCommit < commit && !pr.isPaused()) out.push(id);
    return out;
  }

  // ---- follower-side handlers ----

  handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      // A delayed append: answered with our commit. A leader of this term or a later one holds
      // every committed entry (Raft paper §5.4), so one that differs means a corrupt log.
      this.raftLog.checkAgainstCommitted(m.index, m.logTerm, m.entries);
      this.send(message({ type: "appendResponse", to: m.from, index: this.raftLog.committed }));
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== null) {
      this.send(message({ type: "appendResponse", to: m.from, index: lastNew }));
      return;
    }
    // Reject with a hint: the largest index at or below the leader's probe whose term is at
    // most the leader's term there. The leader can then skip a whole term at once (§5.3).
    const hint = this.raftLog.findConflictByTerm(Math.min(m.index, this.raftLog.lastIndex()), m.logTerm);
    this.logger.debug(
      `node ${this.id}: rejected append [logterm ${m.logTerm}, index ${m.index}] from ${m.from}; hint index ${hint.index} term ${hint.term}`,
    );
    this.send(
      message({
        type: "appendResponse",
        to: m.from,
        index: m.index,
        reject: true,
        rejectHint: hint.index,
        logTerm: hint.term,
      }),
    );
  }

  handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send(message({ type: "heartbeatResponse", to: m.from, context: m.context }));
  }

  handleSnapshot(m: Message): void {
    const s = m.snapshot!;
    if (this.restore(s)) {
      this.logger.info(`node ${this.id}: restored snapshot at index ${s.meta.index}, term ${s.meta.term}`);
      this.send(message({ type: "appendResponse", to: m.from, index: this.raftLog.lastIndex() }));
    } else {
      this.logger.info(
        `node ${this.id}: ignored snapshot at index ${s.meta.index} (commit ${this.raftLog.committed})`,
      );
      this.send(message({ type: "appendResponse", to: m.from, index: this.raftLog.committed }));
    }
  }

  /** Installs a snapshot from the leader. Returns false when it brings nothing new. */
  restore(s: Snapshot): boolean {
    if (s.meta.index <= this.raftLog.committed) return false;
    if (this.role !== "follower") {
      this.logger.warn(`node ${this.id}: got a snapshot as ${this.role}; becoming follower`);
      this.becomeFollower(this.term + 1, null);
      return false;
    }
    if (this.raftLog.matchTerm(s.meta.index, s.meta.term)) {
      // We already hold the snapshot's last entry: just fast-forward commit.
      this.raftLog.commitTo(s.meta.index);
      return false;
    }
    this.raftLog.restore(s);
    this.trk.config = configFromConfState(s.meta.confState);
    this.switchToConfig(this.trk.config);
    return true;
  }

  // ---- reads (Raft thesis §6.4) ----

  /** Answers a read: locally as a ReadState, or to the follower that forwarded it. */
  respondToReadIndex(req: Message, readIndex: number): void {
    if (req.from === this.id || req.from === "") {
      this.readStates.push({ index: readIndex, requestCtx: req.context ?? new Uint8Array() });
      return;
    }
    this.send(message({ type: "readIndexResponse", to: req.from, index: readIndex, context: req.context }));
  }

  /** A follower forwards a read to the leader: remember its context to accept the answer. */
  forwardedRead(ctx: Uint8Array | null): void {
    const key = contextKey(ctx);
    this.forwardedReads.delete(key);
    this.forwardedReads.add(key);
    if (this.forwardedReads.size > MAX_FORWARDED_READS) {
      // Unanswered reads are retried under new contexts; forget the oldest.
      const oldest = this.forwardedReads.values().next().value;
      if (oldest !== undefined) this.forwardedReads.delete(oldest);
    }
  }

  /** Whether `ctx` is a read this node forwarded and still waits for; forgets it if so. */
  takeForwardedRead(ctx: Uint8Array | null): boolean {
    return this.forwardedReads.delete(contextKey(ctx));
  }

  releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) stepLeader(this, m);
  }

  // ---- leadership transfer (Raft thesis §3.10) ----

  sendTimeoutNow(to: NodeId): void {
    this.timeoutNowSent = true;
    this.send(message({ type: "timeoutNow", to }));
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = null;
  }

  // ---- membership ----

  /**
   * Records that entries up to `index` were applied. A leader whose joint configuration is
   * marked auto-leave proposes leaving it once the change that entered it is applied.
   */
  appliedTo(index: number): void {
    this.raftLog.appliedTo(Math.max(index, this.raftLog.applied));
    if (!this.trk.config.autoLeave || this.role !== "leader" || this.raftLog.applied < this.pendingConfIndex)
      return;
    try {
      stepLeader(
        this,
        message({
          type: "propose",
          from: this.id,
          entries: [{ term: 0, index: 0, type: "confChange", data: new Uint8Array() }],
        }),
      );
      this.logger.info(`node ${this.id}: proposed leaving the joint configuration`);
    } catch (e) {
      // Dropped during a leadership transfer: retried on the next apply, or by the next leader.
      if (!(e instanceof ProposalDroppedError)) throw e;
      this.logger.debug(
        `node ${this.id}: could not propose leaving the joint configuration yet: ${e.message}`,
      );
    }
  }

  /** Applies a committed configuration change and returns the resulting membership. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.switchToConfig(nextConfig(this.trk.config, cc));
  }

  /**
   * The configurations that the configuration entries in (`from`, `to`] of this node's log
   * would produce when applied, in log order (entries that would be refused are skipped).
   */
  configsAfter(from: number, to: number): { index: number; config: TrackerConfig }[] {
    const out: { index: number; config: TrackerConfig }[] = [];
    const lo = Math.max(from + 1, this.raftLog.firstIndex());
    if (lo > to) return out;
    let cfg = this.trk.config;
    for (const e of this.raftLog.slice(lo, to + 1)) {
      if (e.type !== "confChange") continue;
      try {
        cfg = nextConfig(cfg, decodeConfChange(e.data));
        out.push({ index: e.index, config: cfg });
      } catch {
        // refused when applied: the membership does not change
      }
    }
    return out;
  }

  /** Makes `cfg` the active membership, creating and dropping progress records to match. */
  switchToConfig(cfg: TrackerConfig): ConfState {
    const members = new Set([...cfg.voters[0], ...cfg.voters[1], ...cfg.learners, ...cfg.learnersNext]);
    const next = this.raftLog.lastIndex() + 1;
    for (const id of [...this.trk.progress.keys()]) if (!members.has(id)) this.trk.progress.delete(id);
    for (const id of members) {
      // learnersNext members still vote in the outgoing half until the joint config is left.
      const learner = cfg.learners.has(id);
      const pr = this.trk.progress.get(id);
      if (pr) pr.isLearner = learner;
      else {
        const fresh = this.trk.newProgress(next, learner);
        // A new member counts as active so check-quorum does not depose the leader at once.
        fresh.recentActive = true;
        if (id === this.id) fresh.match = this.lastStableIndex();
        this.trk.progress.set(id, fresh);
      }
    }
    this.trk.config = cfg;
    const cs = trackerConfigToConfState(cfg);
    const self = this.trk.progress.get(this.id);
    this.isLearner = self?.isLearner ?? false;
    if (this.role !== "leader" || cs.voters.length === 0) return cs;
    if (!self || this.isLearner) {
      // Removed or demoted: the change is committed now, so hand over by stepping down.
      this.logger.info(`node ${this.id}: removed from the voters while leading; stepping down`);
      this.becomeFollower(this.term, null);
      return cs;
    }
    if (this.maybeCommit()) this.onCommitAdvanced();
    else for (const id of this.trk.memberIds()) if (id !== this.id) this.maybeSendAppend(id, false);
    if (this.leadTransferee !== null && !this.trk.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    return cs;
  }
}
