import { BehaviorSubject, distinctUntilChanged, map, type Observable, Subject } from "rxjs";
import type { ConfChange, ConfChangeSingle } from "../confchange/confChange.js";
import { decodeConfChange } from "../confchange/confChange.js";
import {
  CorruptLogError,
  LeaderChangedError,
  ProposalDroppedError,
  ProposalLostError,
  SnapshotOutOfDateError,
  StoppedError,
  TimeoutError,
} from "../errors.js";
import { type Logger, silentLogger } from "../raft/logger.js";
import { type Random, SeededRandom } from "../raft/random.js";
import { RawNode } from "../raft/rawNode.js";
import type { WritableStorage } from "../raft/storage.js";
import type {
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  Ready,
  Role,
  Snapshot,
  SnapshotMeta,
} from "../raft/types.js";
import { emptyConfState } from "../raft/types.js";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";
import { unwrapProposal, wrapProposal } from "./envelope.js";
import { ForwardedProposals } from "./forwardedProposals.js";
import { handOverLeadership } from "./handOver.js";
import { LeaderLease, type LeadershipView, type LeaseRound } from "./leaderLease.js";
import { type NodeStatus, nodeStatus } from "./nodeStatus.js";
import type { ProposalFailure, RaftNodeObserver } from "./observer.js";
import { PendingCalls } from "./pendingCalls.js";
import { ReadBatcher } from "./readBatcher.js";
import { decodeRuntimeSnapshot, encodeRuntimeSnapshot } from "./runtimeSnapshot.js";
import type { StateMachine } from "./stateMachine.js";
import { corruptLogReason, fatalErrorReason, STOP_CALLED } from "./stopReasons.js";
import type { Transport } from "./transport.js";

/** How a {@link RaftNode} runs. Only `id`, `storage`, `transport` and `stateMachine` are required. */
export interface RaftNodeOptions {
  id: NodeId;
  /** Where the log, hard state and snapshots are made durable. Owned by the node from now on. */
  storage: WritableStorage;
  /** How messages reach peers. Owned by the node from now on. */
  transport: Transport;
  stateMachine: StateMachine;
  /** Known members' addresses (this node's own may be included). Later changes travel in the log. */
  peers?: Record<NodeId, string>;
  /**
   * Start a brand-new cluster whose voters are the keys of `peers` (and this node), when the
   * storage is empty. Leave false to join an existing cluster: the node waits to be added.
   */
  bootstrap?: boolean;
  /** Milliseconds per Raft tick. Default 100. */
  tickMs?: number;
  /** Default 10 ticks. */
  electionTick?: number;
  /** Default 1 tick. */
  heartbeatTick?: number;
  /** Default true. */
  preVote?: boolean;
  /** Default true. */
  checkQuorum?: boolean;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  maxUncommittedEntriesSize?: number;
  /** Take a snapshot and compact after this many entries were applied since the last one. Default 10,000. */
  snapshotEntries?: number;
  /** Entries kept in the log behind a snapshot, so slightly slow followers need no snapshot. Default 5,000. */
  snapshotCatchUpEntries?: number;
  /** Default deadline of propose and membership calls, in ms. Default 10,000. */
  proposalTimeoutMs?: number;
  /** Default deadline of readIndex, in ms. Default 10,000. */
  readTimeoutMs?: number;
  /**
   * Let {@link RaftNode.leaseRead} answer from a leader lease, without a round trip. Default
   * false: every read confirms leadership with a heartbeat round (ReadIndex, Raft thesis §6.4).
   *
   * The lease rests on each voter refusing votes for an election timeout after it acknowledged
   * the leader, and a voter that restarts has forgotten when that was, so with `leaseReads` a
   * node ignores vote requests for an election timeout after it starts (Raft thesis §6.4.1).
   * That makes a cluster whose majority restarts wait at least one election timeout
   * (electionTick × tickMs, 1 s by default) before it can elect a leader and take writes.
   * Without `leaseReads` a restarted node votes at once and campaigns after 1 to
   * electionTick/2 ticks (pre-vote keeps that from disturbing a live leader), so writes resume
   * a few ticks after a majority is back.
   *
   * NB: set it alike on every member. A member without it votes right after a restart and may
   * help elect a new leader while one with it still serves reads from its lease.
   */
  leaseReads?: boolean;
  /**
   * The most any node's clock rate may differ from real time, as a fraction, for
   * {@link RaftNode.leaseRead}: the lease is shortened by it (see {@link LeaderLease}).
   * Default 0.05 (5%, far beyond the ~0.01% of a working quartz clock, to cover VM time).
   */
  leaseMaxClockDrift?: number;
  logger?: Logger;
  /** Hooks called as the node works (proposals, applies, snapshots), e.g. to keep metrics. */
  observer?: RaftNodeObserver;
  /**
   * How long `stop()` on a leader may spend handing leadership over to the most caught-up
   * voter, in ms. Default: two election timeouts (2 × electionTick × tickMs). 0 skips it.
   */
  stopHandOverMs?: number;
  /** Time and timers. Default: the process's own ({@link systemClock}); a simulation gives its own. */
  clock?: Clock;
  /**
   * Randomness for election timeouts. Default: seeded anew in each process, so two members that
   * restart together do not draw the same timeouts on every restart (as a seed from the id would).
   */
  random?: Random;
}

/** One application entry as applied on this node, with the state machine's result. */
export interface AppliedEntry {
  index: number;
  term: number;
  payload: Uint8Array;
  result: unknown;
}

interface ConfChangeContext {
  id?: string;
  addresses?: Record<NodeId, string>;
}

let incarnationCounter = 0;

/**
 * A running Raft node: owns a {@link RawNode}, a tick timer, a {@link WritableStorage}, a
 * {@link Transport} and a {@link StateMachine}, and drives them. Each Ready is handled as:
 * persist (one durable batch) → send (a leader sends first, Raft thesis §10.2.1) → restore
 * snapshot → apply → advance. Proposals and reads that arrive while a batch is being
 * written join the next batch, so throughput grows with concurrency.
 */
export class RaftNode {
  readonly id: NodeId;
  readonly #raw: RawNode;
  readonly #storage: WritableStorage;
  readonly #transport: Transport;
  readonly #sm: StateMachine;
  readonly #logger: Logger;
  readonly #observer: RaftNodeObserver;
  readonly #clock: Clock;
  readonly #opts: Required<
    Pick<
      RaftNodeOptions,
      | "tickMs"
      | "snapshotEntries"
      | "snapshotCatchUpEntries"
      | "proposalTimeoutMs"
      | "readTimeoutMs"
      | "stopHandOverMs"
    >
  >;
  readonly #incarnation: string;
  #proposalSeq = 0;
  readonly #pending: PendingCalls<{ index: number; result: unknown }>;
  /** Leader-side: the index each of our proposals got, to detect it being overwritten. */
  readonly #pendingIndex = new Map<number, string>();
  readonly #pendingConf: PendingCalls<ConfState>;
  readonly #forwarded = new ForwardedProposals();
  readonly #reads: ReadBatcher<LeaseRound>;
  readonly #lease: LeaderLease;
  /** Monotonic ms of the last lease read; while recent, the leader keeps its lease renewed. */
  #leaseUsedAt = Number.NEGATIVE_INFINITY;
  #ticks = 0;
  #lastLead: NodeId | null = null;
  readonly #checkQuorum: boolean;
  readonly #leaseReads: boolean;
  readonly #electionTick: number;
  readonly #heartbeatTick: number;
  readonly #addresses = new Map<NodeId, string>();
  /** Ids whose address this node was configured with (its own included): a snapshot never overrides them. */
  readonly #configured = new Set<NodeId>();
  #membership: ConfState = emptyConfState();
  #persisted: HardState = { term: 0, vote: null, commit: 0 };
  #deferredHardState: HardState | null = null;
  /** The last hard state handed to storage (durable or still being written). */
  #requestedHardState: HardState | null = null;
  /** The snapshot being encoded and stored in the background, if any. */
  #snapshotTask: Promise<void> | null = null;
  #lastSnapshotIndex = 0;
  #applied = 0;
  #timer: TimerHandle | null = null;
  #scheduled = false;
  #running = false;
  #stopped = false;
  /** Why the node stopped; null while it runs. */
  #stopReason: string | null = null;
  #closing = false;
  #loopDone: Promise<void> = Promise.resolve();

  readonly #status$: BehaviorSubject<NodeStatus>;
  readonly #applied$ = new Subject<AppliedEntry>();
  /** Every status change (role, leader, term, commit, applied, membership). */
  readonly status$: Observable<NodeStatus>;
  readonly role$: Observable<Role>;
  readonly leader$: Observable<NodeId | null>;
  readonly term$: Observable<number>;
  readonly commitIndex$: Observable<number>;
  readonly appliedIndex$: Observable<number>;
  readonly membership$: Observable<ConfState>;
  /** Each application entry as it is applied here, with its result. */
  readonly applied$: Observable<AppliedEntry> = this.#applied$.asObservable();

  private constructor(o: RaftNodeOptions, raw: RawNode) {
    this.id = o.id;
    this.#raw = raw;
    this.#storage = o.storage;
    this.#transport = o.transport;
    this.#sm = o.stateMachine;
    this.#logger = o.logger ?? silentLogger;
    this.#observer = o.observer ?? {};
    this.#clock = o.clock ?? systemClock;
    const tickMs = o.tickMs ?? 100;
    this.#opts = {
      tickMs,
      stopHandOverMs: o.stopHandOverMs ?? 2 * (o.electionTick ?? 10) * tickMs,
      snapshotEntries: o.snapshotEntries ?? 10_000,
      snapshotCatchUpEntries: o.snapshotCatchUpEntries ?? 5_000,
      proposalTimeoutMs: o.proposalTimeoutMs ?? 10_000,
      readTimeoutMs: o.readTimeoutMs ?? 10_000,
    };
    this.#incarnation = `${this.#clock.now().toString(36)}${(incarnationCounter++).toString(36)}`;
    this.#pending = new PendingCalls(this.id, "the proposal", this.#clock);
    this.#pendingConf = new PendingCalls(this.id, "the membership change", this.#clock);
    this.#checkQuorum = o.checkQuorum ?? true;
    this.#leaseReads = o.leaseReads ?? false;
    this.#electionTick = o.electionTick ?? 10;
    this.#heartbeatTick = o.heartbeatTick ?? 1;
    this.#lease = new LeaderLease({
      clock: this.#clock,
      tickMs: this.#opts.tickMs,
      electionTick: this.#electionTick,
      maxClockDrift: o.leaseMaxClockDrift ?? 0.05,
    });
    this.#reads = new ReadBatcher({
      nodeId: this.id,
      incarnation: this.#incarnation,
      request: (ctx) => {
        // Stamped before the request is stepped, so before any of its heartbeats is sent.
        const round = this.#lease.startRound(this.#leadership());
        this.#raw.readIndex(ctx);
        this.#schedule();
        return round;
      },
      confirmed: (round) => this.#lease.confirmed(round, this.#leadership()),
      retryAfterTicks: this.#electionTick * 2,
      clock: this.#clock,
    });
    this.#status$ = new BehaviorSubject(this.#computeStatus());
    this.status$ = this.#status$.asObservable();
    const field = <T>(f: (s: NodeStatus) => T, eq?: (a: T, b: T) => boolean): Observable<T> =>
      this.#status$.pipe(map(f), distinctUntilChanged(eq));
    this.role$ = field((s) => s.role);
    this.leader$ = field((s) => s.leader);
    this.term$ = field((s) => s.term);
    this.commitIndex$ = field((s) => s.commit);
    this.appliedIndex$ = field((s) => s.applied);
    this.membership$ = field(
      (s) => s.membership,
      (a, b) => JSON.stringify(a) === JSON.stringify(b),
    );
  }

  /**
   * Starts a node: recovers the state machine from the storage's snapshot, replays the log
   * through Raft, starts the transport and the tick timer.
   */
  static async start(o: RaftNodeOptions): Promise<RaftNode> {
    const storage = o.storage;
    const snap = storage.snapshot();
    const fresh = storage.lastIndex() === 0 && storage.initialState().hardState.term === 0;
    const leaseReads = o.leaseReads ?? false;
    const preVote = o.preVote ?? true;
    const checkQuorum = o.checkQuorum ?? true;
    const raw = new RawNode({
      id: o.id,
      storage,
      electionTick: o.electionTick ?? 10,
      heartbeatTick: o.heartbeatTick ?? 1,
      applied: snap.meta.index,
      preVote,
      checkQuorum,
      // Leader leases rely on a restarted voter not electing anyone for an election timeout.
      ignoreVotesAfterStart: leaseReads,
      campaignSoonAfterStart: !leaseReads && preVote && checkQuorum,
      random: o.random ?? new SeededRandom(Math.floor(Math.random() * 2 ** 32)),
      ...(o.maxSizePerMsg !== undefined && { maxSizePerMsg: o.maxSizePerMsg }),
      ...(o.maxInflightMsgs !== undefined && { maxInflightMsgs: o.maxInflightMsgs }),
      ...(o.maxUncommittedEntriesSize !== undefined && {
        maxUncommittedEntriesSize: o.maxUncommittedEntriesSize,
      }),
      ...(o.logger && { logger: o.logger }),
    });
    const node = new RaftNode(o, raw);
    for (const [id, url] of Object.entries(o.peers ?? {})) node.#addresses.set(id, url);
    for (const id of Object.keys(o.peers ?? {})) node.#configured.add(id);
    if (snap.meta.index > 0) {
      const rs = decodeRuntimeSnapshot(snap.data);
      await o.stateMachine.restore(rs.app);
      for (const [id, url] of Object.entries(rs.addresses))
        if (!node.#addresses.has(id)) node.#addresses.set(id, url);
      node.#membership = snap.meta.confState;
      node.#applied = snap.meta.index;
      node.#lastSnapshotIndex = snap.meta.index;
    }
    node.#persisted = storage.initialState().hardState;
    if (fresh && o.bootstrap) {
      const voters = [...new Set([...Object.keys(o.peers ?? {}), o.id])].sort();
      raw.bootstrap(voters);
      node.#logger.info(`node ${o.id}: bootstrapping a new cluster with voters ${voters.join(", ")}`);
    } else if (fresh) {
      node.#logger.info(`node ${o.id}: empty storage; waiting to be added to an existing cluster`);
    }
    for (const [id, url] of node.#addresses) if (id !== o.id) o.transport.addPeer(id, url);
    await o.transport.start({
      receive: (msgs) => node.#receive(msgs),
      reportUnreachable: (id) => {
        if (node.#stopped) return;
        node.#raw.reportUnreachable(id);
        node.#schedule();
      },
      reportSnapshot: (id, ok) => {
        if (node.#stopped) return;
        node.#raw.reportSnapshot(id, ok);
        node.#schedule();
      },
    });
    node.#timer = node.#clock.setInterval(() => node.#tick(), node.#opts.tickMs);
    node.#schedule();
    return node;
  }

  /** The node's current status, including each follower's progress when it leads. */
  status(): NodeStatus {
    return this.#computeStatus();
  }

  /** The members' addresses as this node knows them. */
  addresses(): Record<NodeId, string> {
    return Object.fromEntries(this.#addresses);
  }

  /**
   * Proposes an application entry and resolves with the state machine's result once it is
   * applied on this node. Rejects with {@link ProposalDroppedError} (not applied: no leader,
   * transfer under way, too much uncommitted), {@link ProposalLostError} (not applied:
   * overwritten after a leader change), {@link TimeoutError} (outcome unknown) or
   * {@link StoppedError} (outcome unknown).
   */
  propose(
    payload: Uint8Array,
    opts: { timeoutMs?: number } = {},
  ): Promise<{ index: number; result: unknown }> {
    if (this.#stopped) return Promise.reject(this.#stoppedError("the proposal"));
    const id = `${this.id}/${this.#incarnation}/${this.#proposalSeq++}`;
    this.#observer.proposalStarted?.();
    const p = this.#pending.start(id, opts.timeoutMs ?? this.#opts.proposalTimeoutMs, () => {
      this.#raw.propose(wrapProposal(id, payload));
      const r = this.#raw.raft;
      if (r.role === "leader") this.#pendingIndex.set(r.raftLog.lastIndex(), id);
      else if (r.lead !== null) this.#forwarded.add(id, r.lead);
      this.#schedule();
    });
    p.then(
      () => this.#observer.proposalCommitted?.(),
      (e: unknown) => {
        this.#forwarded.delete(id);
        this.#observer.proposalFailed?.(failureOf(e));
      },
    );
    return p;
  }

  /**
   * Resolves once this node has applied everything committed before the call, as confirmed
   * by the leader (ReadIndex, Raft thesis §6.4): a read of local state after it is
   * linearizable. Concurrent calls share one confirmation round.
   */
  readIndex(opts: { timeoutMs?: number } = {}): Promise<number> {
    if (this.#stopped) return Promise.reject(this.#stoppedError("the read"));
    return this.#reads.read(opts.timeoutMs ?? this.#opts.readTimeoutMs);
  }

  /**
   * Runs `serve` (a read of local state) so that it is linearizable, without a round trip
   * when lease reads are enabled (`leaseReads`), this node leads and holds a lease (see {@link LeaderLease} for exactly what that
   * assumes: clock rates within ±`leaseMaxClockDrift`, equal `tickMs`/`electionTick` on every
   * node, check-quorum). The read first waits until this node applied the commit index as of
   * the call, then checks the lease again and calls `serve` in the same synchronous step.
   * Without a lease (a follower, a new leader before its first commit, after a stall, a
   * transfer or a step-down) it falls back to {@link readIndex}, which also renews the lease.
   * While lease reads keep coming, the leader renews its lease every heartbeat interval.
   */
  async leaseRead<T>(serve: () => T, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.#stopped) throw this.#stoppedError("the read");
    const timeoutMs = opts.timeoutMs ?? this.#opts.readTimeoutMs;
    if (this.#leaseReads && this.#checkQuorum) {
      this.#leaseUsedAt = this.#clock.monotonic();
      if (this.#lease.holds(this.#leadership())) {
        const index = this.#raw.raft.raftLog.committed;
        if (this.#applied < index) await this.#reads.waitApplied(index, timeoutMs);
        if (this.#lease.holds(this.#leadership())) return serve();
      }
    }
    await this.#reads.read(timeoutMs);
    return serve();
  }

  /**
   * A snapshot of everything applied on this node so far: the state machine's, the members'
   * addresses, the membership, and the index and term of the last applied entry. Call it after
   * {@link readIndex} for a snapshot that holds every write acknowledged before the call.
   *
   * NB: it waits for the loop to finish the batch it is applying, then asks the state machine
   * for its snapshot at once, so a state machine whose `snapshot()` captures its state before
   * its first `await` (as the SDK's does) gives a snapshot of exactly `meta.index`.
   */
  async captureSnapshot(): Promise<Snapshot> {
    if (this.#stopped) throw this.#stoppedError("the snapshot");
    while (this.#running) await this.#loopDone;
    const index = this.#applied;
    const term = this.#raw.raft.raftLog.term(index);
    if (term === null) throw new Error(`node ${this.id}: the term of applied entry ${index} is unknown`);
    const confState = structuredClone(this.#membership);
    const addresses = Object.fromEntries(this.#addresses);
    const app = await this.#sm.snapshot();
    return { meta: { index, term, confState }, data: encodeRuntimeSnapshot({ addresses, app }) };
  }

  /** Asks for leadership to move to `to`; resolves once this node sees `to` lead. */
  transferLeader(to: NodeId, opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#stopped) return Promise.reject(this.#stoppedError("the leadership transfer"));
    const timeoutMs = opts.timeoutMs ?? this.#opts.proposalTimeoutMs;
    return new Promise((resolve, reject) => {
      const sub = this.leader$.subscribe((l) => {
        if (l !== to) return;
        this.#clock.clearTimeout(timer);
        queueMicrotask(() => sub.unsubscribe());
        resolve();
      });
      const timer = this.#clock.setTimeout(() => {
        sub.unsubscribe();
        reject(new TimeoutError(this.id, `the leadership transfer to ${to}`, timeoutMs, false));
      }, timeoutMs);
      this.#raw.transferLeader(to);
      this.#schedule();
    });
  }

  /** Adds `id` (reachable at `address`) as a voter, or promotes it if it is a learner. */
  addVoter(id: NodeId, address?: string, opts?: { timeoutMs?: number }): Promise<ConfState> {
    return this.changeMembership([{ type: "addVoter", nodeId: id }], address ? { [id]: address } : {}, opts);
  }

  /** Adds `id` as a learner: it receives the log but does not vote until promoted with {@link addVoter}. */
  addLearner(id: NodeId, address?: string, opts?: { timeoutMs?: number }): Promise<ConfState> {
    return this.changeMembership(
      [{ type: "addLearner", nodeId: id }],
      address ? { [id]: address } : {},
      opts,
    );
  }

  removeNode(id: NodeId, opts?: { timeoutMs?: number }): Promise<ConfState> {
    return this.changeMembership([{ type: "removeNode", nodeId: id }], {}, opts);
  }

  /**
   * Proposes a membership change (several changes at once go through joint consensus and
   * leave it automatically) and resolves with the new membership once applied here.
   */
  changeMembership(
    changes: ConfChangeSingle[],
    addresses: Record<NodeId, string> = {},
    opts: { timeoutMs?: number } = {},
  ): Promise<ConfState> {
    if (this.#stopped) return Promise.reject(this.#stoppedError("the membership change"));
    const id = `${this.id}/${this.#incarnation}/c${this.#proposalSeq++}`;
    const context: ConfChangeContext = { id, addresses };
    const cc: ConfChange = { transition: "auto", changes, context: JSON.stringify(context) };
    return this.#pendingConf.start(id, opts.timeoutMs ?? this.#opts.proposalTimeoutMs, () => {
      this.#raw.proposeConfChange(cc);
      this.#schedule();
    });
  }

  /**
   * Stops the node: timers, transport and storage. A leader first hands leadership over to
   * its most caught-up voter and waits for its own proposals to be applied (within
   * `stopHandOverMs`; `{ handOver: false }` skips this), so the cluster need not wait out an
   * election timeout. Calls still in flight then reject with {@link StoppedError}; its status
   * says it stopped. Also releases the storage of a node that a fatal error stopped.
   */
  async stop(opts: { handOver?: boolean } = {}): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (!this.#stopped && opts.handOver !== false && this.#opts.stopHandOverMs > 0) {
      await handOverLeadership(
        {
          id: this.id,
          status: () => this.status(),
          transferLeader: (to, o) => this.transferLeader(to, o),
          pendingNow: () => {
            const ids = this.#pending.ids();
            return () => ids.every((id) => !this.#pending.has(id));
          },
        },
        { timeoutMs: this.#opts.stopHandOverMs, clock: this.#clock, logger: this.#logger },
      );
    }
    if (!this.#stopped) this.#halt(STOP_CALLED);
    await this.#loopDone;
    await this.#snapshotTask;
    this.#failAll((what) => this.#stoppedError(what));
    await this.#transport.stop();
    await this.#storage.close();
    this.#status$.complete();
    this.#applied$.complete();
  }

  // ---- the loop ----

  #tick(): void {
    if (this.#stopped) return;
    this.#lease.tick();
    this.#raw.tick();
    this.#reads.tick();
    this.#ticks++;
    const leaseInUse = this.#clock.monotonic() - this.#leaseUsedAt < this.#electionTick * this.#opts.tickMs;
    if (leaseInUse && this.#raw.raft.role === "leader" && this.#ticks % this.#heartbeatTick === 0)
      this.#reads.renew();
    this.#schedule();
  }

  #leadership(): LeadershipView {
    const r = this.#raw.raft;
    return {
      term: r.term,
      isLeader: r.role === "leader",
      committedInTerm: r.committedEntryInCurrentTerm(),
      transferring: r.leadTransferee !== null || r.timeoutNowSent,
    };
  }

  #receive(msgs: Message[]): void {
    if (this.#stopped) return;
    for (const m of msgs) {
      try {
        this.#raw.step(m);
      } catch (e) {
        // A log that contradicts what is committed must not serve or vote any more (etcd
        // panics); any other error is a bad or stale message from the peer, dropped.
        if (e instanceof CorruptLogError) {
          this.#fatal(corruptLogReason(e, m));
          return;
        }
        this.#logger.warn(`node ${this.id}: ignored ${m.type} from ${m.from}: ${(e as Error).message}`);
      }
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    // setImmediate lets every proposal and message of this turn join the same Ready.
    this.#clock.setImmediate(() => {
      this.#scheduled = false;
      if (!this.#running) this.#loopDone = this.#runLoop();
    });
  }

  async #runLoop(): Promise<void> {
    this.#running = true;
    try {
      while (!this.#stopped && this.#raw.hasReady()) await this.#handleReady(this.#raw.ready());
    } catch (e) {
      this.#fatal(fatalErrorReason(e as Error), e as Error);
    } finally {
      this.#running = false;
    }
  }

  /** Stops the node for good after an error it cannot continue from; logged once, with what to do. */
  #fatal(reason: string, cause: Error | null = null): void {
    if (this.#stopped) return;
    this.#logger.error(`node ${this.id}: stopped: ${reason}${cause?.stack ? `\n${cause.stack}` : ""}`);
    this.#halt(reason);
    void this.#transport.stop();
    this.#status$.complete();
    this.#applied$.complete();
  }

  /** Marks the node stopped: no more ticks, calls in flight fail, and its status says why. */
  #halt(reason: string): void {
    this.#stopped = true;
    this.#stopReason = reason;
    if (this.#timer) this.#clock.clearInterval(this.#timer);
    this.#failAll((what) => this.#stoppedError(what));
    this.#status$.next(this.#computeStatus());
  }

  #stoppedError(what: string): StoppedError {
    return new StoppedError(this.id, what, this.#stopReason);
  }

  async #handleReady(rd: Ready): Promise<void> {
    const hs = rd.hardState;
    const voteChanged = hs !== null && (hs.term !== this.#persisted.term || hs.vote !== this.#persisted.vote);
    // A leader may send before its own write is durable; everyone else answers only after it.
    const sendFirst = this.#raw.raft.role === "leader" && !voteChanged;
    if (sendFirst) this.#transport.send(rd.messages);
    await this.#persist(rd);
    if (!sendFirst) this.#transport.send(rd.messages);
    if (rd.snapshot)
      await this.#restoreSnapshot(rd.snapshot.data, rd.snapshot.meta.index, rd.snapshot.meta.confState);
    if (rd.committedEntries.length > 0) await this.#apply(rd.committedEntries);
    for (const rs of rd.readStates) this.#reads.confirmed(rs.requestCtx, rs.index);
    this.#raw.advance(rd);
    this.#reads.applied(this.#applied);
    const lead = this.#raw.raft.lead;
    if (lead !== this.#lastLead) {
      this.#lastLead = lead;
      if (lead !== null) this.#reads.leaderChanged();
    }
    this.#retryForwarded();
    this.#maybeSnapshot();
    this.#status$.next(this.#computeStatus());
  }

  /**
   * After a leader change, proposals forwarded to the old leader fail with
   * {@link LeaderChangedError} at once, so their callers retry with the new one instead of
   * waiting out their deadline.
   */
  #retryForwarded(): void {
    const leader = this.#raw.raft.lead;
    for (const { id, to } of this.#forwarded.leaderIs(leader))
      this.#pending.reject(id, new LeaderChangedError(this.id, to, leader));
  }

  async #persist(rd: Ready): Promise<void> {
    const needsWrite = rd.entries.length > 0 || rd.snapshot !== null || rd.mustSync;
    if (!needsWrite) {
      // A commit-only change needs no fsync: commit can be recovered from the cluster.
      if (rd.hardState) this.#deferredHardState = rd.hardState;
      return;
    }
    const hardState = rd.hardState ?? this.#deferredHardState;
    this.#deferredHardState = null;
    if (hardState) this.#requestedHardState = hardState;
    await this.#storage.save({
      ...(hardState && { hardState }),
      ...(rd.entries.length > 0 && { entries: rd.entries }),
      ...(rd.snapshot && { snapshot: rd.snapshot }),
    });
    if (hardState) this.#persisted = hardState;
  }

  async #restoreSnapshot(data: Uint8Array, index: number, confState: ConfState): Promise<void> {
    const started = this.#clock.monotonic();
    const rs = decodeRuntimeSnapshot(data);
    await this.#sm.restore(rs.app);
    // The leader's map is from the leader's point of view: an address this node was configured
    // with (its own, or a peer's as reachable from here) stays; the others are newer than
    // anything applied here, since the snapshot covers every entry this node had applied.
    for (const [id, url] of Object.entries(rs.addresses))
      if (!this.#configured.has(id)) this.#setAddress(id, url);
    this.#membership = confState;
    this.#applied = index;
    this.#lastSnapshotIndex = index;
    const ms = this.#clock.monotonic() - started;
    this.#observer.snapshotRestored?.(index, ms);
    this.#logger.info(`node ${this.id}: restored the state machine from a snapshot at index ${index}`, {
      event: "snapshotRestored",
      index,
      durationMs: Math.round(ms),
    });
  }

  async #apply(entries: Entry[]): Promise<void> {
    let batch: { entry: Entry; id: string | null; payload: Uint8Array }[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const run = batch;
      batch = [];
      const started = this.#clock.monotonic();
      const results = await this.#sm.apply(
        run.map(({ entry, payload }) => ({
          term: entry.term,
          index: entry.index,
          type: entry.type,
          data: payload,
        })),
      );
      this.#observer.applied?.(run.length, this.#clock.monotonic() - started);
      run.forEach(({ entry, id, payload }, i) => {
        const result = results[i];
        this.#settleProposal(entry.index, id, result);
        this.#applied$.next({ index: entry.index, term: entry.term, payload, result });
      });
    };
    for (const e of entries) {
      if (e.type === "confChange") {
        await flush();
        this.#applyConfChange(e);
      } else if (e.data.length > 0) {
        const p = unwrapProposal(e.data);
        batch.push({ entry: e, id: p?.id ?? null, payload: p?.payload ?? e.data });
      } else {
        this.#settleProposal(e.index, null, undefined);
      }
      this.#applied = e.index;
    }
    await flush();
  }

  #settleProposal(index: number, id: string | null, result: unknown): void {
    const expected = this.#pendingIndex.get(index);
    if (expected !== undefined) {
      this.#pendingIndex.delete(index);
      if (expected !== id) this.#pending.reject(expected, new ProposalLostError(this.id, index));
    }
    if (id !== null) this.#pending.resolve(id, { index, result });
  }

  #applyConfChange(e: Entry): void {
    const cc = decodeConfChange(e.data);
    let ctx: ConfChangeContext = {};
    try {
      ctx = cc.context ? (JSON.parse(cc.context) as ConfChangeContext) : {};
    } catch {
      ctx = {};
    }
    for (const [id, url] of Object.entries(ctx.addresses ?? {})) this.#setAddress(id, url);
    let cs: ConfState;
    try {
      cs = this.#raw.applyConfChange(cc);
    } catch (err) {
      // Every node refuses the same change the same way, so all stay in step.
      this.#logger.warn(
        `node ${this.id}: configuration change at index ${e.index} refused: ${(err as Error).message}`,
      );
      this.#settleConf(ctx.id, null, err as Error);
      return;
    }
    this.#membership = cs;
    for (const change of cc.changes) {
      if (change.type === "removeNode" && change.nodeId !== this.id && !isMember(cs, change.nodeId)) {
        this.#addresses.delete(change.nodeId);
        this.#transport.removePeer(change.nodeId);
      }
    }
    this.#logger.info(
      `node ${this.id}: membership is now voters [${cs.voters.join(",")}]${cs.votersOutgoing.length ? ` & [${cs.votersOutgoing.join(",")}]` : ""} learners [${cs.learners.join(",")}]`,
      {
        event: "membership",
        index: e.index,
        voters: cs.voters.join(","),
        learners: cs.learners.join(","),
        votersOutgoing: cs.votersOutgoing.join(","),
      },
    );
    this.#settleConf(ctx.id, cs, null);
  }

  #settleConf(id: string | undefined, cs: ConfState | null, err: Error | null): void {
    if (!id) return;
    if (err) this.#pendingConf.reject(id, err);
    else this.#pendingConf.resolve(id, cs!);
  }

  #setAddress(id: NodeId, url: string): void {
    if (this.#addresses.get(id) === url) return;
    // Our own address is what we were told at start; another member's view of it may differ.
    if (id === this.id && this.#configured.has(id)) return;
    this.#addresses.set(id, url);
    if (id !== this.id) this.#transport.addPeer(id, url);
  }

  /**
   * Starts a snapshot of the applied state when enough entries were applied since the last one,
   * unless one is under way. The state machine copies its state in `snapshot()`; encoding it and
   * storing it go on in the background while the loop keeps replicating and applying (as the
   * Raft thesis §5.1 suggests, copy-on-write), so a large state costs no leadership.
   */
  #maybeSnapshot(): void {
    if (this.#snapshotTask !== null) return;
    if (this.#applied - this.#lastSnapshotIndex < this.#opts.snapshotEntries) return;
    const index = this.#applied;
    const term = this.#raw.raft.raftLog.term(index);
    if (term === null) return;
    const meta = { index, term, confState: this.#membership };
    const addresses = Object.fromEntries(this.#addresses);
    const started = this.#clock.monotonic();
    const app = this.#sm.snapshot();
    this.#snapshotTask = this.#storeSnapshot(meta, addresses, app, started)
      .catch((e: unknown) => {
        if (e instanceof SnapshotOutOfDateError) return; // a newer snapshot arrived from the leader meanwhile
        this.#fatal(fatalErrorReason(e as Error), e as Error);
      })
      .finally(() => {
        this.#snapshotTask = null;
      });
  }

  async #storeSnapshot(
    meta: SnapshotMeta,
    addresses: Record<NodeId, string>,
    app: Uint8Array | Promise<Uint8Array>,
    started: number,
  ): Promise<void> {
    const data = encodeRuntimeSnapshot({ addresses, app: await app });
    if (this.#closing || meta.index <= this.#lastSnapshotIndex) return;
    // The stored commit must not lag behind the snapshot: commit-only hard states are written
    // lazily. NB: the hard state is the last one handed to storage, not the last one durable:
    // saves are applied in call order, so an older one here would undo a newer term or vote.
    const latest = this.#requestedHardState ?? this.#persisted;
    const hardState = { ...latest, commit: Math.max(latest.commit, meta.index) };
    this.#requestedHardState = hardState;
    await this.#storage.save({ snapshot: { meta, data }, hardState });
    if (this.#persisted.term === hardState.term && this.#persisted.vote === hardState.vote) {
      this.#persisted = { ...this.#persisted, commit: Math.max(this.#persisted.commit, hardState.commit) };
    }
    this.#lastSnapshotIndex = Math.max(this.#lastSnapshotIndex, meta.index);
    const compactTo = meta.index - this.#opts.snapshotCatchUpEntries;
    if (compactTo >= this.#storage.firstIndex()) await this.#storage.compact(compactTo);
    const ms = this.#clock.monotonic() - started;
    this.#observer.snapshotTaken?.(meta.index, ms);
    this.#logger.info(
      `node ${this.id}: snapshot at index ${meta.index}; log compacted up to ${Math.max(compactTo, 0)}`,
      {
        event: "snapshot",
        index: meta.index,
        compactedTo: Math.max(compactTo, 0),
        durationMs: Math.round(ms),
      },
    );
  }

  #failAll(error: (what: string) => Error): void {
    this.#pending.rejectAll(error);
    this.#pendingIndex.clear();
    this.#pendingConf.rejectAll(error);
    this.#reads.failAll(error("the read"));
  }

  #computeStatus(): NodeStatus {
    return nodeStatus(this.id, this.#raw, this.#applied, this.#membership, this.#stopReason);
  }
}

function failureOf(e: unknown): ProposalFailure {
  if (e instanceof ProposalDroppedError) return "dropped";
  if (e instanceof ProposalLostError) return "lost";
  if (e instanceof LeaderChangedError) return "leader_changed";
  if (e instanceof TimeoutError) return "timeout";
  if (e instanceof StoppedError) return "stopped";
  return "error";
}

function isMember(cs: ConfState, id: NodeId): boolean {
  return [cs.voters, cs.learners, cs.votersOutgoing, cs.learnersNext].some((ids) => ids.includes(id));
}
