import type { RaftConfig } from "../raft/config.js";
import type { Logger } from "../raft/logger.js";
import { type Random, SeededRandom } from "../raft/random.js";
import type { WritableStorage } from "../raft/storage.js";
import type { NodeId } from "../raft/types.js";
import type { Clock } from "./clock.js";
import type { RaftNodeObserver } from "./observer.js";
import type { StateMachine } from "./stateMachine.js";
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
  /**
   * The voters a bootstrap starts with, instead of the keys of `peers` (this node is always one):
   * for a node that recorded its choice at an earlier first start whose log never reached the
   * disk. Ignored without `bootstrap` or on non-empty storage.
   */
  initialVoters?: NodeId[];
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
  /**
   * How long a leader waits after its commit advances before sending it to followers that get
   * no new entries meanwhile (as an empty append). Under load the next append carries it and
   * the empty one is never sent, which halves the messages of a put at low concurrency; an idle
   * follower applies this much later. 0 sends at once, as etcd does. Default 2.
   */
  commitBroadcastDelayMs?: number;
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
   * Without `leaseReads` a restarted node listens for two ticks (a live leader's heartbeat
   * reaches it meanwhile), then votes, and campaigns after 2 to electionTick/2 ticks (pre-vote
   * keeps that from disturbing a live leader), so writes resume a few ticks after a majority is
   * back.
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

/** The options a running {@link RaftNode} reads after start, with their defaults filled in. */
export interface ResolvedRaftNodeOptions {
  tickMs: number;
  commitBroadcastDelayMs: number;
  stopHandOverMs: number;
  snapshotEntries: number;
  snapshotCatchUpEntries: number;
  proposalTimeoutMs: number;
  readTimeoutMs: number;
  checkQuorum: boolean;
  leaseReads: boolean;
  electionTick: number;
  heartbeatTick: number;
  leaseMaxClockDrift: number;
}

/** Fills in the defaults documented on {@link RaftNodeOptions}. */
export function resolveOptions(o: RaftNodeOptions): ResolvedRaftNodeOptions {
  const tickMs = o.tickMs ?? 100;
  return {
    tickMs,
    commitBroadcastDelayMs: o.commitBroadcastDelayMs ?? 2,
    stopHandOverMs: o.stopHandOverMs ?? 2 * (o.electionTick ?? 10) * tickMs,
    snapshotEntries: o.snapshotEntries ?? 10_000,
    snapshotCatchUpEntries: o.snapshotCatchUpEntries ?? 5_000,
    proposalTimeoutMs: o.proposalTimeoutMs ?? 10_000,
    readTimeoutMs: o.readTimeoutMs ?? 10_000,
    checkQuorum: o.checkQuorum ?? true,
    leaseReads: o.leaseReads ?? false,
    electionTick: o.electionTick ?? 10,
    heartbeatTick: o.heartbeatTick ?? 1,
    leaseMaxClockDrift: o.leaseMaxClockDrift ?? 0.05,
  };
}

/** The Raft configuration of a node started with `o`, resuming with `applied` applied. */
export function raftConfig(o: RaftNodeOptions, applied: number): RaftConfig {
  const storage = o.storage;
  const leaseReads = o.leaseReads ?? false;
  const preVote = o.preVote ?? true;
  const checkQuorum = o.checkQuorum ?? true;
  return {
    id: o.id,
    storage,
    electionTick: o.electionTick ?? 10,
    heartbeatTick: o.heartbeatTick ?? 1,
    applied,
    preVote,
    checkQuorum,
    // Leader leases rely on a restarted voter not electing anyone for an election timeout.
    ignoreVotesAfterStart: leaseReads,
    campaignSoonAfterStart: !leaseReads && preVote && checkQuorum,
    deferCommitBroadcast: (o.commitBroadcastDelayMs ?? 2) > 0,
    random: o.random ?? new SeededRandom(Math.floor(Math.random() * 2 ** 32)),
    ...(o.maxSizePerMsg !== undefined && { maxSizePerMsg: o.maxSizePerMsg }),
    ...(o.maxInflightMsgs !== undefined && { maxInflightMsgs: o.maxInflightMsgs }),
    ...(o.maxUncommittedEntriesSize !== undefined && {
      maxUncommittedEntriesSize: o.maxUncommittedEntriesSize,
    }),
    ...(o.logger && { logger: o.logger }),
  };
}
