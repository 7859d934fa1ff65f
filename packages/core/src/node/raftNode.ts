import { BehaviorSubject, type Observable, Subject } from "rxjs";
import type { ConfChangeSingle } from "../confchange/confChange.js";
import { StoppedError } from "../errors.js";
import { type Logger, silentLogger } from "../raft/logger.js";
import { RawNode } from "../raft/rawNode.js";
import type { WritableStorage } from "../raft/storage.js";
import type { ConfState, Message, NodeId, Role, Snapshot } from "../raft/types.js";
import { Applier } from "./applier.js";
import { type Clock, systemClock } from "./clock.js";
import { handOverLeadership } from "./handOver.js";
import { LeaderLease, type LeaseRound, leadershipOf } from "./leaderLease.js";
import { transferLeadership } from "./membership.js";
import { type NodeStatus, nodeStatus, statusFields } from "./nodeStatus.js";
import type { RaftNodeObserver } from "./observer.js";
import { Persister } from "./persister.js";
import { Proposals } from "./proposals.js";
import {
  type AppliedEntry,
  type RaftNodeOptions,
  type ResolvedRaftNodeOptions,
  raftConfig,
  resolveOptions,
} from "./raftNodeOptions.js";
import { ReadBatcher } from "./readBatcher.js";
import { ReadyLoop } from "./readyLoop.js";
import { recover } from "./recovery.js";
import { SnapshotIntake } from "./snapshotIntake.js";
import { Snapshotter } from "./snapshotter.js";
import type { StateMachine } from "./stateMachine.js";
import { STOP_CALLED } from "./stopReasons.js";
import type { Transport } from "./transport.js";

export type { AppliedEntry, RaftNodeOptions } from "./raftNodeOptions.js";

let incarnationCounter = 0;

/**
 * A running Raft node: owns a {@link RawNode}, a tick timer, a {@link WritableStorage}, a
 * {@link Transport} and a {@link StateMachine}, and drives them. Each Ready is handled as:
 * a leader sends at once (Raft thesis §10.2.1) → start its durable write (one batch, one
 * fsync) → a leader applies the committed entries while the write runs; a follower, once its
 * write is durable, sends (its acknowledgements), then restores a snapshot and applies →
 * advance. Proposals and reads that arrive while a batch is being written
 * join the next batch, so throughput grows with concurrency.
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
  readonly #opts: ResolvedRaftNodeOptions;
  readonly #incarnation: string;
  readonly #proposals: Proposals;
  readonly #reads: ReadBatcher<LeaseRound>;
  readonly #lease: LeaderLease;
  readonly #persister: Persister;
  /** The applied state (index, membership, addresses) and the apply path. */
  readonly #applier: Applier;
  readonly #snapshotter: Snapshotter;
  /** Received snapshots, decoded before Raft sees them. */
  readonly #intake: SnapshotIntake;
  /** Ticks, incoming messages and Readys. */
  readonly #loop: ReadyLoop;
  #stopped = false;
  /** Why the node stopped; null while it runs. */
  #stopReason: string | null = null;
  #closing = false;

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
    this.#opts = resolveOptions(o);
    this.#incarnation = `${this.#clock.now().toString(36)}${(incarnationCounter++).toString(36)}`;
    this.#proposals = new Proposals({
      id: this.id,
      incarnation: this.#incarnation,
      raw: this.#raw,
      clock: this.#clock,
      observer: this.#observer,
      schedule: () => this.#loop.schedule(),
    });
    this.#lease = new LeaderLease({
      clock: this.#clock,
      tickMs: this.#opts.tickMs,
      electionTick: this.#opts.electionTick,
      maxClockDrift: this.#opts.leaseMaxClockDrift,
    });
    this.#reads = new ReadBatcher({
      nodeId: this.id,
      incarnation: this.#incarnation,
      request: (ctx) => {
        // Stamped before the request is stepped, so before any of its heartbeats is sent.
        const round = this.#lease.startRound(leadershipOf(this.#raw.raft));
        this.#raw.readIndex(ctx);
        this.#loop.schedule();
        return round;
      },
      confirmed: (round) => this.#lease.confirmed(round, leadershipOf(this.#raw.raft)),
      retryAfterTicks: this.#opts.electionTick * 2,
      clock: this.#clock,
    });
    this.#persister = new Persister(this.#storage);
    const common = { id: this.id, stateMachine: this.#sm, clock: this.#clock, logger: this.#logger };
    this.#applier = new Applier({
      ...common,
      observer: this.#observer,
      transport: this.#transport,
      applyConfChange: (cc) => this.#raw.applyConfChange(cc),
      proposals: this.#proposals,
      entryApplied: (e) => this.#applied$.next(e),
    });
    this.#snapshotter = new Snapshotter({
      ...common,
      observer: this.#observer,
      storage: this.#storage,
      persister: this.#persister,
      state: this.#applier,
      snapshotEntries: this.#opts.snapshotEntries,
      snapshotCatchUpEntries: this.#opts.snapshotCatchUpEntries,
      term: (index) => this.#raw.raft.raftLog.term(index),
      closing: () => this.#closing,
      fatal: (reason, cause) => this.#fatal(reason, cause),
      takeInstall: (data) => this.#intake.takeInstall(data),
    });
    const sm = this.#sm;
    this.#intake = new SnapshotIntake({
      prepare: sm.prepareRestore ? (app) => sm.prepareRestore!(app) : undefined,
      wanted: (m) => {
        const r = this.#raw.raft;
        const { index, term } = m.snapshot!.meta;
        return m.term >= r.term && index > r.raftLog.committed && !r.raftLog.matchTerm(index, term);
      },
      step: (msgs) => this.#loop.step(msgs),
    });
    this.#loop = new ReadyLoop({
      id: this.id,
      raw: this.#raw,
      transport: this.#transport,
      clock: this.#clock,
      logger: this.#logger,
      opts: this.#opts,
      proposals: this.#proposals,
      reads: this.#reads,
      lease: this.#lease,
      persister: this.#persister,
      applier: this.#applier,
      snapshotter: this.#snapshotter,
      stopped: () => this.#stopped,
      fatal: (reason, cause) => this.#fatal(reason, cause ?? null),
      handled: () => this.#status$.next(this.#computeStatus()),
    });
    this.#status$ = new BehaviorSubject(this.#computeStatus());
    this.status$ = this.#status$.asObservable();
    ({
      role$: this.role$,
      leader$: this.leader$,
      term$: this.term$,
      commitIndex$: this.commitIndex$,
      appliedIndex$: this.appliedIndex$,
      membership$: this.membership$,
    } = statusFields(this.#status$));
  }

  /**
   * Starts a node: recovers the state machine from the storage's snapshot, replays the log
   * through Raft (see {@link recover}), starts the transport and the tick timer.
   */
  static async start(o: RaftNodeOptions): Promise<RaftNode> {
    const raw = new RawNode(raftConfig(o, o.storage.snapshot().meta.index));
    const node = new RaftNode(o, raw);
    const applier = node.#applier;
    const bootstrapped = await recover(o, raw, {
      applier,
      snapshotter: node.#snapshotter,
      persister: node.#persister,
      logger: node.#logger,
    });
    // The initial configuration is made durable before the transport starts, so nothing is
    // sent or answered from a bootstrap that a crash could take back: a restart always finds
    // it in storage, and never bootstraps again (perhaps from other peers).
    if (bootstrapped) await node.#loop.persistBootstrap();
    for (const [id, url] of applier.addresses) if (id !== o.id) o.transport.addPeer(id, url);
    await o.transport.start(node.#loop.transportHandler((msgs) => node.#receive(msgs)));
    node.#loop.start();
    return node;
  }

  /** The node's current status, including each follower's progress when it leads. */
  status(): NodeStatus {
    return this.#computeStatus();
  }

  /** The members' addresses as this node knows them. */
  addresses(): Record<NodeId, string> {
    return Object.fromEntries(this.#applier.addresses);
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
    return this.#proposals.propose(payload, opts.timeoutMs ?? this.#opts.proposalTimeoutMs);
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
    if (this.#opts.leaseReads && this.#opts.checkQuorum) {
      this.#loop.leaseUsed();
      if (this.#lease.holds(leadershipOf(this.#raw.raft))) {
        const index = this.#raw.raft.raftLog.committed;
        if (this.#applier.applied < index) await this.#reads.waitApplied(index, timeoutMs);
        if (this.#lease.holds(leadershipOf(this.#raw.raft))) return serve();
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
    while (this.#loop.running) await this.#loop.done;
    return this.#snapshotter.capture();
  }

  /** Asks for leadership to move to `to`; resolves once this node sees `to` lead. */
  transferLeader(to: NodeId, opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#stopped) return Promise.reject(this.#stoppedError("the leadership transfer"));
    return transferLeadership(
      {
        id: this.id,
        leader$: this.leader$,
        clock: this.#clock,
        transfer: (to) => {
          this.#raw.transferLeader(to);
          this.#loop.schedule();
        },
      },
      to,
      opts.timeoutMs ?? this.#opts.proposalTimeoutMs,
    );
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
    return this.#proposals.changeMembership(
      changes,
      addresses,
      opts.timeoutMs ?? this.#opts.proposalTimeoutMs,
    );
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
            const ids = this.#proposals.calls.ids();
            return () => ids.every((id) => !this.#proposals.calls.has(id));
          },
        },
        { timeoutMs: this.#opts.stopHandOverMs, clock: this.#clock, logger: this.#logger },
      );
    }
    if (!this.#stopped) this.#halt(STOP_CALLED);
    await this.#loop.done;
    await this.#snapshotter.task;
    this.#failAll((what) => this.#stoppedError(what));
    await this.#transport.stop();
    await this.#storage.close();
    this.#status$.complete();
    this.#applied$.complete();
  }

  #receive(msgs: Message[]): void {
    if (this.#stopped) return;
    this.#intake.receive(msgs);
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
    this.#intake.close();
    this.#stopReason = reason;
    this.#loop.halt();
    this.#failAll((what) => this.#stoppedError(what));
    this.#status$.next(this.#computeStatus());
  }

  #stoppedError(what: string): StoppedError {
    return new StoppedError(this.id, what, this.#stopReason);
  }

  #failAll(error: (what: string) => Error): void {
    this.#proposals.failAll(error);
    this.#reads.failAll(error("the read"));
  }

  #computeStatus(): NodeStatus {
    return nodeStatus(this.id, this.#raw, this.#applier.applied, this.#applier.membership, this.#stopReason);
  }
}
