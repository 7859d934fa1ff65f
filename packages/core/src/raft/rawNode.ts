import { type ConfChange, encodeConfChange } from "../confchange/confChange.js";
import { ProposalDroppedError, RaftkitError } from "../errors.js";
import { trackerConfigToConfState } from "../tracker/progressTracker.js";
import type { RaftConfig } from "./config.js";
import { payloadSize } from "./entries.js";
import { peerGone, peerReachable } from "./peerSignals.js";
import { Raft } from "./raft.js";
import type {
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  ProgressStatus,
  Ready,
  SoftState,
  Status,
} from "./types.js";
import { isLocalMessage, isResponseMessage, message } from "./types.js";

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/**
 * The synchronous API of one Raft node. Not safe for concurrent use: one caller drives it.
 *
 * The caller feeds time with {@link tick}, peer messages with {@link step}, and requests with
 * {@link propose}, {@link readIndex} and {@link transferLeader}; whenever {@link hasReady} is
 * true it must take {@link ready}, carry it out (see {@link Ready}) and pass it back to
 * {@link advance}.
 */
export class RawNode {
  readonly #raft: Raft;
  #prevSoftState: SoftState;
  #prevHardState: HardState;

  /** Builds a node from its config; it resumes from whatever `config.storage` holds. */
  constructor(config: RaftConfig) {
    this.#raft = new Raft(config);
    this.#prevSoftState = this.#raft.softState();
    this.#prevHardState = this.#raft.hardState();
  }

  get id(): NodeId {
    return this.#raft.id;
  }

  /**
   * Starts a brand-new cluster whose voters are `voters` (this node among them). Only valid on
   * empty storage: a node that has ever run must restart from its storage instead. The
   * initial membership is written as one configuration entry per voter at term 1, handed out
   * by the next Ready to persist and apply like any other entries.
   */
  bootstrap(voters: NodeId[]): void {
    const storage = this.#raft.raftLog.storage;
    const hs = storage.initialState().hardState;
    if (storage.lastIndex() !== 0 || hs.term !== 0 || hs.vote !== null) {
      throw new RaftkitError(
        "BOOTSTRAP",
        `node ${this.id}: cannot bootstrap: its storage already holds a log (last index ${storage.lastIndex()}, term ${hs.term}); restart it from storage instead`,
      );
    }
    const unique = [...new Set(voters)];
    if (unique.length === 0)
      throw new RaftkitError("BOOTSTRAP", `node ${this.id}: cannot bootstrap with no voters`);
    const r = this.#raft;
    r.becomeFollower(1, null);
    const changes: ConfChange[] = unique.map((id) => ({
      transition: "auto",
      changes: [{ type: "addVoter", nodeId: id }],
    }));
    const ents: Entry[] = changes.map((cc, i) => ({
      term: 1,
      index: i + 1,
      type: "confChange",
      data: encodeConfChange(cc),
    }));
    r.raftLog.append(ents);
    // These entries are committed by definition: every member starts from the same ones.
    r.raftLog.committed = ents.length;
    for (const cc of changes) r.applyConfChange(cc);
  }

  /** Advances logical time by one tick. Call at a fixed interval (etcd uses 100 ms). */
  tick(): void {
    this.#raft.tick();
  }

  /** Starts an election now (with pre-vote if configured). */
  campaign(): void {
    this.#raft.step(message({ type: "hup", from: this.id }));
  }

  /**
   * Proposes `data` for the log. It is not committed yet: watch committed entries.
   * Throws {@link ProposalDroppedError} when it cannot be accepted (no leader known,
   * leadership transfer under way, uncommitted size limit, forwarding disabled).
   */
  propose(data: Uint8Array): void {
    this.#raft.step(
      message({ type: "propose", from: this.id, entries: [{ term: 0, index: 0, type: "normal", data }] }),
    );
  }

  /**
   * Runs `submit`, which makes any number of {@link propose} calls (each accepted or refused on
   * its own, as alone), and on a leader sends what they appended to each follower in one append
   * at the end, instead of one append per proposal: the followers then write and acknowledge
   * them once.
   */
  proposeTogether(submit: () => void): void {
    const r = this.#raft;
    const before = r.raftLog.lastIndex();
    r.holdAppends = true;
    try {
      submit();
    } finally {
      r.holdAppends = false;
      if (r.role === "leader" && r.raftLog.lastIndex() > before) r.bcastAppend();
    }
  }

  /**
   * Proposes a membership change. Once its entry is committed, call {@link applyConfChange}.
   * Throws {@link ProposalDroppedError} when another change is still pending.
   */
  proposeConfChange(cc: ConfChange): void {
    this.#raft.step(
      message({
        type: "propose",
        from: this.id,
        entries: [{ term: 0, index: 0, type: "confChange", data: encodeConfChange(cc) }],
      }),
    );
  }

  /** Applies a committed membership change (from a "confChange" entry) and returns the new membership. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.#raft.applyConfChange(cc);
  }

  /**
   * Feeds in a message from a peer. Local message types are refused; responses from nodes
   * outside the membership and proposals a leader drops on a follower's behalf are ignored
   * (the follower's caller times out and retries).
   */
  step(m: Message): void {
    if (isLocalMessage(m.type)) {
      throw new RaftkitError(
        "STEP_LOCAL_MESSAGE",
        `node ${this.id}: ${m.type} is a local message and cannot come from a peer`,
      );
    }
    const r = this.#raft;
    if (isResponseMessage(m.type) && !r.trk.progress.has(m.from)) return;
    try {
      r.step(m);
    } catch (e) {
      // A proposal from the network was forwarded by a follower (perhaps this node's own,
      // bounced back after a leader change); its proposer times out and retries.
      if (e instanceof ProposalDroppedError && m.type === "propose") {
        r.logger.info(`node ${this.id}: dropped a proposal forwarded by ${m.from}: ${e.reason}`);
        return;
      }
      throw e;
    }
  }

  /**
   * Requests a linearizable read. `context` identifies it: a {@link Ready} later carries a
   * ReadState with the same context and the index the application must have applied before
   * it serves the read. The request may be lost (no leader, leader change): retry on timeout.
   */
  readIndex(context: Uint8Array): void {
    this.#raft.step(message({ type: "readIndex", from: this.id, context }));
  }

  /** Asks the leader to hand leadership to `to`; forwarded if this node is not the leader. */
  transferLeader(to: NodeId): void {
    this.#raft.step(message({ type: "transferLeader", from: to }));
  }

  /** Tells Raft the last message to `id` probably did not arrive. */
  reportUnreachable(id: NodeId): void {
    this.#raft.step(message({ type: "unreachable", from: id }));
  }

  /** Tells Raft that a connection to `id` was refused: no process listens at its address (see {@link peerGone}). */
  reportGone(id: NodeId): void {
    peerGone(this.#raft, id);
  }

  /** Tells Raft that a connection to `id` was just (re)established (see {@link peerReachable}). */
  reportReachable(id: NodeId): void {
    peerReachable(this.#raft, id);
  }

  /** Reports whether sending a snapshot to `id` succeeded. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.#raft.step(message({ type: "snapshotStatus", from: id, reject: !ok }));
  }

  /**
   * With `deferCommitBroadcast`: whether a follower does not know the leader's current commit
   * index yet (and could be sent it now). The caller then calls {@link broadcastCommit}, soon
   * but not at once, so that the next append can carry it instead.
   */
  hasUntoldCommit(): boolean {
    return this.#raft.untoldOfCommit().length > 0;
  }

  /** Sends the leader's commit index to every follower that was not sent it yet (an append, empty if it has no new entries). */
  broadcastCommit(): void {
    for (const id of this.#raft.untoldOfCommit()) this.#raft.sendAppend(id);
  }

  hasReady(): boolean {
    const r = this.#raft;
    const soft = r.softState();
    if (soft.lead !== this.#prevSoftState.lead || soft.role !== this.#prevSoftState.role) return true;
    if (!sameHardState(r.hardState(), this.#prevHardState)) return true;
    if (r.raftLog.nextUnstableSnapshot() !== null) return true;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    return r.raftLog.hasNextUnstableEntries() || r.raftLog.hasNextCommittedEntries();
  }

  /**
   * Returns the outstanding work; see {@link Ready} for what the caller must do. The Ready
   * *must* be handed back through {@link advance} once done. Each piece of work is handed
   * out once: a second call before advance returns only what is new since.
   */
  ready(): Ready {
    const r = this.#raft;
    const soft = r.softState();
    const hard = r.hardState();
    const entries = r.raftLog.nextUnstableEntries();
    const rd: Ready = {
      softState:
        soft.lead !== this.#prevSoftState.lead || soft.role !== this.#prevSoftState.role ? soft : null,
      hardState: sameHardState(hard, this.#prevHardState) ? null : hard,
      entries,
      snapshot: r.raftLog.nextUnstableSnapshot(),
      committedEntries: r.raftLog.nextCommittedEntries(),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync:
        entries.length > 0 ||
        r.raftLog.nextUnstableSnapshot() !== null ||
        hard.term !== this.#prevHardState.term ||
        hard.vote !== this.#prevHardState.vote,
    };
    if (rd.softState) this.#prevSoftState = soft;
    if (rd.hardState) this.#prevHardState = hard;
    r.msgs = [];
    r.readStates = [];
    r.raftLog.acceptUnstable();
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted) {
      r.raftLog.acceptApplying(lastCommitted.index);
      if (r.role === "leader") r.reduceUncommittedSize(payloadSize(rd.committedEntries));
    }
    return rd;
  }

  /** Reports that a Ready from {@link ready} was carried out: its entries and snapshot are stable, its committed entries applied. */
  advance(rd: Ready): void {
    const r = this.#raft;
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry) r.raftLog.stableTo(lastEntry.index, lastEntry.term);
    if (rd.snapshot) {
      r.raftLog.stableSnapTo(rd.snapshot.meta.index);
      r.appliedTo(rd.snapshot.meta.index);
    }
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted) r.appliedTo(lastCommitted.index);
    // The leader's own entries count toward commit only now that they are durable.
    if (lastEntry) r.selfStable(r.lastStableIndex());
  }

  status(): Status {
    const r = this.#raft;
    const progress: Record<NodeId, ProgressStatus> = {};
    if (r.role === "leader") for (const [id, pr] of r.trk.progress) progress[id] = pr.toStatus();
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      applied: r.raftLog.applied,
      lead: r.lead,
      role: r.role,
      leadTransferee: r.leadTransferee,
      config: trackerConfigToConfState(r.trk.config),
      progress,
    };
  }

  /** @internal The Raft state machine, for tests that inspect internals. */
  get raft(): Raft {
    return this.#raft;
  }
}
