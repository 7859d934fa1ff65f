import type { Operation } from "../../src/history/index.js";
import { checkLinearizable } from "../../src/history/index.js";
import {
  type ConfChange,
  ConfChangeError,
  type ConfState,
  decodeConfChange,
  type Entry,
  type Logger,
  MemoryStorage,
  type Message,
  ProposalDroppedError,
  type RaftConfig,
  RaftkitError,
  RawNode,
  type Ready,
  type Role,
  SeededRandom,
} from "../../src/index.js";
import { readRequestContext } from "../../src/node/readBatcher.js";
import { contextKey } from "../../src/raft/readOnly.js";
import { type ClientRequest, Clients, type PendingOp } from "./clients.js";
import { EventQueue } from "./eventQueue.js";
import { type ConfCommit, InvariantChecker, InvariantViolation } from "./invariants.js";
import { decodeCommand, encodeCommand, KvMachine } from "./kvMachine.js";
import {
  applyConfModel,
  CONF_KINDS,
  type ConfKind,
  confKey,
  confKindOf,
  emptyConf,
  fmtConfChange,
  isJointConf,
  isVoterIn,
  ModelRefusal,
  membersOf,
} from "./membership.js";
import { Network, QUIET_LINKS } from "./network.js";
import { between, deriveSeed } from "./rng.js";
import { describeRunConfig, drawRunConfig, type RunConfig } from "./runConfig.js";
import { Trace } from "./trace.js";

/** Deliberate defects of the simulated disk, to prove the invariants catch broken persistence. */
export interface SimBugs {
  /** On every restart the node's hard state comes back without its vote. */
  forgetVote?: boolean;
  /** On every crash the disk loses the last 1–3 log entries written (and the commit index is clamped to what is left). */
  loseTail?: boolean;
  /** Gets are answered from the contacted node's state machine at once, skipping readIndex. */
  staleReads?: boolean;
  /**
   * Read contexts as RaftNode made them before they named node and incarnation: a counter
   * from 1 in every node's every life, so contexts collide across nodes and restarts.
   */
  collidingReadContexts?: boolean;
  /** Node n2 applies every addLearner as addVoter (and keeps what its core computed): nodes disagree. */
  divergentConfChange?: boolean;
  /** Every node applies every addLearner as addVoter (and keeps what its core computed): all agree, wrongly. */
  wrongConfChange?: boolean;
  /** A node made a learner applies that change to itself as addVoter; the harness records the learner config. */
  learnerSelfPromotes?: boolean;
  /** Every node but the learner applies addLearner as addVoter (leaders count learners); the harness records the learner config. */
  learnerCounted?: boolean;
  /** A removed node ignores its own removal (its core keeps it a voter); the harness records the removal. */
  removedStays?: boolean;
  /** On every crash the disk's snapshot loses its ConfState (it comes back empty). */
  loseConfState?: boolean;
  /** Snapshots record the initial membership instead of the one at their index. */
  staleSnapshotConf?: boolean;
}

/** Knobs of {@link simulate}; every one has a default. */
export interface SimOptions {
  /** Simulated ms of client load and faults before everything heals. Default 3000. */
  duration?: number;
  /** After the heal, simulated ms within which a leader must commit a write applied on every node. Default 10000. */
  livenessTimeout?: number;
  bugs?: SimBugs;
  /** Check that a node votes at most once per term (default true); see {@link InvariantChecker}. */
  checkVotes?: boolean;
  /** Check each applied configuration against the simulation's model (default true); agreement between nodes is always checked. */
  checkConfModel?: boolean;
  /**
   * Check after every step, on restart and in snapshots that a node's membership (its core's and
   * the harness's view) is the configuration at its applied index (default true).
   */
  checkMembership?: boolean;
  /** Replaces parts of the configuration the seed draws (e.g. more crashes for a bug hunt). */
  overrides?: Partial<RunConfig>;
  /** Receives every trace line as it happens (verbose mode). */
  onTrace?: (line: string) => void;
  /** Trace lines kept for a failure report. Default 400. */
  traceCapacity?: number;
  /** Also return the trace of a passing run. */
  keepTrace?: boolean;
}

/** What a run did, so tests can tell that the simulation exercised something. */
export interface SimStats extends ConfKindStats {
  simTime: number;
  events: number;
  /** Terms in which some node became leader. */
  elections: number;
  /** Entries in the committed prefix at the end. */
  committed: number;
  writesAcked: number;
  readsServed: number;
  unknownOps: number;
  refusedOps: number;
  crashes: number;
  pauses: number;
  partitions: number;
  transfers: number;
  messages: number;
  messagesLost: number;
  messagesCut: number;
  messagesDuplicated: number;
  snapshotsSent: number;
  snapshotsInstalled: number;
  compactions: number;
  /** Membership changes the harness proposed that the leader accepted, and that it refused (ProposalDroppedError). */
  confProposed: number;
  confRefused: number;
  /** Configuration entries committed (bootstrap excluded); of these, refused when applied (invalid). */
  confCommitted: number;
  confInvalid: number;
  jointEntered: number;
  jointLeft: number;
  /** Nodes that joined, and that left, the committed configuration (bootstrap excluded). */
  nodesAdded: number;
  nodesRemoved: number;
  /** Brand-new nodes started (empty storage, no bootstrap). */
  nodesSpawned: number;
  /** Restarts of a node whose committed log or snapshot held a membership change. */
  confRestarts: number;
  /** Snapshots installed whose configuration came from a membership change. */
  confSnapshots: number;
  /** Ms from the final heal until a fresh write was applied everywhere. */
  livenessMs: number;
}

/** Committed membership changes of each kind, in {@link SimStats} (e.g. `ccAddLearner`). */
export type ConfKindStats = { [K in ConfKind as `cc${Capitalize<K>}`]: number };

/** The counters the simulation keeps itself (the rest of {@link SimStats} comes from the network, clients and checker). */
const HARNESS_COUNTERS = [
  "crashes",
  "pauses",
  "transfers",
  "snapshotsSent",
  "snapshotsInstalled",
  "compactions",
  "confProposed",
  "confRefused",
  "confCommitted",
  "confInvalid",
  "jointEntered",
  "jointLeft",
  "nodesAdded",
  "nodesRemoved",
  "nodesSpawned",
  "confRestarts",
  "confSnapshots",
] as const;
export type HarnessCounters = Pick<SimStats, (typeof HARNESS_COUNTERS)[number]>;

export function emptyHarnessCounters(): HarnessCounters {
  return Object.fromEntries(HARNESS_COUNTERS.map((k) => [k, 0])) as HarnessCounters;
}

/** All-zero {@link SimStats}, for adding runs up. */
export function emptyStats(): SimStats {
  return {
    ...emptyHarnessCounters(),
    ...(Object.fromEntries(CONF_KINDS.map((k) => [confKindStat(k), 0])) as ConfKindStats),
    simTime: 0,
    events: 0,
    elections: 0,
    committed: 0,
    writesAcked: 0,
    readsServed: 0,
    unknownOps: 0,
    refusedOps: 0,
    partitions: 0,
    messages: 0,
    messagesLost: 0,
    messagesCut: 0,
    messagesDuplicated: 0,
    livenessMs: 0,
  };
}

/** The stats field counting committed changes of `kind`. */
export function confKindStat(kind: ConfKind): keyof ConfKindStats {
  return `cc${kind[0]!.toUpperCase()}${kind.slice(1)}` as keyof ConfKindStats;
}

/** The outcome of {@link simulate}: a failure carries the violation and the last trace lines. */
export type SimResult =
  | { ok: true; seed: number; config: RunConfig; stats: SimStats; history: Operation[]; trace?: string[] }
  | {
      ok: false;
      seed: number;
      config: RunConfig;
      violation: string;
      trace: string[];
      history: Operation[];
      stats: SimStats;
    };

type SimEvent =
  | { type: "tick"; node: string; inc: number }
  | { type: "commitBroadcast"; node: string; inc: number }
  | { type: "deliver"; msg: Message; fromInc: number }
  | { type: "report"; node: string; inc: number; peer: string; snapshot: boolean; ok: boolean }
  /** What a transport learns of a peer's process: it refused a connection, or a connection opened. */
  | { type: "peer"; node: string; inc: number; peer: string; up: boolean }
  | { type: "client"; client: number }
  | { type: "clientSend"; client: number; seq: number }
  | { type: "timeout"; client: number; seq: number }
  | { type: "partition" }
  | { type: "heal"; id: number }
  | { type: "crash" }
  | { type: "restart"; node: string }
  | { type: "transfer" }
  | { type: "pause" }
  | { type: "membership" }
  | { type: "settle" }
  | { type: "liveness" };

interface SimNode {
  readonly id: string;
  readonly index: number;
  storage: MemoryStorage;
  raw: RawNode | null;
  /** Incremented on every restart; events meant for an earlier life are ignored. */
  inc: number;
  kv: KvMachine;
  role: Role;
  /** The membership as of the node's applied index, as the harness tracks it (and records in snapshots). */
  confState: ConfState;
  confKey: string;
  /** The core's configuration object last seen, and its key (recomputed when the object changes). */
  coreConf: unknown;
  coreConfKey: string;
  /** The highest commit index persisted (or checked for a quorum on a leader) in this life. */
  commit: number;
  /** Started with bootstrap() (the initial members) rather than empty, waiting to be contacted. */
  readonly bootstrapped: boolean;
  readonly tickPeriod: number;
  /** While now < pausedUntil the node's process is stalled (a long GC pause): its events wait. */
  pausedUntil: number;
  /** Read requests of this life, numbered as RaftNode numbers them, and whose get each is. */
  readSeq: number;
  readonly readOps: Map<string, { client: number; seq: number }>;
  /** The life (inc) for which a commitBroadcast event is queued, or -1. */
  commitBroadcastDueInc: number;
}

/** The client id of the final liveness write (not part of the recorded history). */
const LIVENESS_CLIENT = 1_000_000;
const KEYS = ["x", "y", "z"] as const;
/** At most this many brand-new nodes are started in one run. */
const MAX_SPAWNED = 6;
/** Voters of the (incoming) configuration stay within these bounds; members (voters and learners) below MAX_MEMBERS. */
const MIN_VOTERS = 3;
const MAX_VOTERS = 5;
const MAX_MEMBERS = 7;

/**
 * Runs one deterministic simulation of a Raft cluster: N {@link RawNode}s in one process over a
 * simulated network, driven by an event queue and a PRNG seeded with `seed` — the same seed
 * replays the same run. The seed draws the configuration ({@link drawRunConfig}), then faults,
 * membership changes and client operations happen for `duration` ms, with every Raft safety
 * invariant checked after every step ({@link InvariantChecker}). Then all faults heal and a
 * write must commit and be applied on every member of the configuration it was committed in,
 * and any joint configuration must be left, within `livenessTimeout` ms; finally the clients'
 * history must be linearizable.
 *
 * Membership changes go through the core's API: the harness draws a change valid for the
 * leader's configuration (a brand-new node — empty storage, no bootstrap — added as a learner
 * and promoted once caught up, or added as a voter; a follower, a learner or the leader itself
 * removed; a voter demoted; a node replaced, or the cluster grown from 3 to 5 voters or shrunk
 * back, through a joint configuration left automatically or, with the "explicit" transition,
 * by the harness) and proposes it with `proposeConfChange` on the leader. Committed entries are
 * applied with `applyConfChange`; the harness keeps each node's ConfState and records it in the
 * snapshots it takes. Removed nodes keep running.
 */
export function simulate(seed: number, options: SimOptions = {}): SimResult {
  return new Simulation(seed, options).run();
}

class Simulation {
  readonly seed: number;
  readonly config: RunConfig;
  readonly rng: SeededRandom;
  readonly queue = new EventQueue<SimEvent>();
  readonly trace: Trace;
  readonly network: Network;
  readonly checker: InvariantChecker;
  readonly clients: Clients;
  readonly nodes: SimNode[] = [];
  readonly byId = new Map<string, SimNode>();
  readonly duration: number;
  readonly livenessTimeout: number;
  readonly bugs: SimBugs;
  readonly verbose: boolean;
  readonly keepTrace: boolean;
  phase: "load" | "settle" = "load";
  settledAt = 0;
  finished = false;
  events = 0;
  stats = emptyHarnessCounters();

  readonly confKinds = Object.fromEntries(CONF_KINDS.map((k) => [k, 0])) as Record<ConfKind, number>;
  readonly checkMembership: boolean;
  /** How many configuration entries bootstrap() writes (one per initial voter). */
  readonly bootstrapEntries: number;
  /** Every node that was ever a member of a committed configuration: never added again once removed. */
  readonly everMember = new Set<string>();
  /** Counter for the contexts of proposed membership changes. */
  confSeq = 0;
  /** Client commands whose proposal message the network duplicated: they may legitimately commit twice. */
  readonly duplicatedProposals = new Set<string>();
  /** Index at which each client command was first committed. */
  readonly committedCommands = new Map<string, number>();
  liveSeq = 0;
  liveProposedAt = -Infinity;
  /** Liveness write seq → nodes that applied it, and the index it was committed at. */
  readonly liveApplied = new Map<number, Set<string>>();
  readonly liveIndex = new Map<number, number>();
  livenessMs = -1;

  constructor(seed: number, options: SimOptions) {
    this.seed = seed;
    this.rng = new SeededRandom(seed);
    const c = { ...drawRunConfig(this.rng), deferCommitBroadcast: seed % 2 === 1, ...options.overrides };
    this.config = {
      ...c,
      campaignSoonAfterStart:
        options.overrides?.campaignSoonAfterStart ?? (c.preVote && c.checkQuorum && seed % 4 >= 2),
    };
    this.duration = options.duration ?? 3000;
    this.livenessTimeout = options.livenessTimeout ?? 10_000;
    this.bugs = options.bugs ?? {};
    this.checker = new InvariantChecker({
      checkVotes: options.checkVotes ?? true,
      checkConfModel: options.checkConfModel ?? true,
    });
    this.checkMembership = options.checkMembership ?? true;
    this.bootstrapEntries = this.config.nodes;
    this.verbose = options.onTrace !== undefined;
    this.trace = new Trace(options.traceCapacity ?? 400, options.onTrace);
    const ids = Array.from({ length: this.config.nodes }, (_, i) => `n${i + 1}`);
    this.network = new Network(ids, this.rng, this.config.links);
    this.clients = new Clients(this.config.clients, KEYS, this.rng);
    this.checker.onCommitted = (e) => this.#onCommitted(e);
    this.checker.onConfCommitted = (c) => this.#onConfCommitted(c);
    this.keepTrace = options.keepTrace ?? false;
  }

  log(node: string, text: string | (() => string)): void {
    this.trace.add(this.queue.now, node, text);
  }

  run(): SimResult {
    let violation: string | null = null;
    try {
      this.#start();
      while (!this.finished) {
        const item = this.queue.pop();
        if (!item) throw new InvariantViolation("the event queue ran dry");
        this.events++;
        this.#handle(item.event);
      }
    } catch (e) {
      violation = describeError(e);
    }
    if (violation === null) {
      for (const op of this.clients.allPending()) this.clients.giveUp(op);
      const lin = checkLinearizable(this.clients.history);
      if (lin.ok !== true) {
        violation = `linearizability${lin.ok === "unknown" ? " (inconclusive)" : ""}: ${lin.reason}`;
      }
    }
    const stats = this.#stats();
    const history = this.clients.history;
    if (violation !== null) {
      this.log("sim", `VIOLATION: ${violation.split("\n")[0]}`);
      return {
        ok: false,
        seed: this.seed,
        config: this.config,
        violation,
        trace: this.trace.lines(),
        history,
        stats,
      };
    }
    const result: SimResult = { ok: true, seed: this.seed, config: this.config, stats, history };
    if (this.keepTrace) result.trace = this.trace.lines();
    return result;
  }

  #stats(): SimStats {
    const n = this.network.stats;
    const c = this.clients.stats;
    return {
      simTime: this.queue.now,
      events: this.events,
      elections: this.checker.leaders.size,
      committed: this.checker.committedLength,
      writesAcked: c.writesAcked,
      readsServed: c.readsServed,
      unknownOps: c.unknown,
      refusedOps: c.refused,
      ...this.stats,
      partitions: n.partitions,
      messages: n.sent,
      messagesLost: n.lost,
      messagesCut: n.cut,
      messagesDuplicated: n.duplicated,
      ...(Object.fromEntries(CONF_KINDS.map((k) => [confKindStat(k), this.confKinds[k]])) as ConfKindStats),
      livenessMs: this.livenessMs,
    };
  }

  // ---- setup ----

  #start(): void {
    const cfg = this.config;
    this.log("sim", `seed ${this.seed}: ${describeRunConfig(cfg)}`);
    const ids = [...this.network.nodes];
    for (const id of ids) this.#newNode(id, true);
    for (const node of this.nodes) {
      node.raw = new RawNode(this.#raftConfig(node, 0));
      node.raw.bootstrap([...ids]);
      this.log(node.id, `bootstrap [${ids.join(",")}], tick every ${node.tickPeriod}ms`);
      this.queue.at(this.rng.int(node.tickPeriod), { type: "tick", node: node.id, inc: node.inc });
    }
    for (const node of this.nodes) this.#processReady(node);
    for (let c = 0; c < cfg.clients; c++)
      this.queue.at(between(this.rng, 50, 300), { type: "client", client: c });
    if (cfg.partitionEvery > 0) this.queue.at(this.#interval(cfg.partitionEvery), { type: "partition" });
    if (cfg.crashEvery > 0) this.queue.at(this.#interval(cfg.crashEvery), { type: "crash" });
    if (cfg.transferEvery > 0) this.queue.at(this.#interval(cfg.transferEvery), { type: "transfer" });
    if (cfg.pauseEvery > 0) this.queue.at(this.#interval(cfg.pauseEvery), { type: "pause" });
    if (cfg.confChangeEvery > 0) this.queue.at(this.#interval(cfg.confChangeEvery), { type: "membership" });
    this.queue.at(this.duration, { type: "settle" });
  }

  #newNode(id: string, bootstrapped: boolean): SimNode {
    const empty = emptyConf();
    const node: SimNode = {
      id,
      index: this.nodes.length,
      storage: new MemoryStorage(),
      raw: null,
      inc: 0,
      readSeq: 0,
      readOps: new Map(),
      commitBroadcastDueInc: -1,
      kv: new KvMachine(),
      role: "follower",
      confState: empty,
      confKey: confKey(empty),
      coreConf: null,
      coreConfKey: "",
      commit: 0,
      bootstrapped,
      tickPeriod: between(this.rng, 9, 11),
      pausedUntil: 0,
    };
    this.nodes.push(node);
    this.byId.set(id, node);
    return node;
  }

  #interval(mean: number): number {
    return between(this.rng, Math.ceil(mean / 2), Math.ceil((mean * 3) / 2));
  }

  #raftConfig(node: SimNode, applied: number): RaftConfig {
    const cfg = this.config;
    const rc: RaftConfig = {
      id: node.id,
      storage: node.storage,
      electionTick: 10,
      heartbeatTick: 1,
      applied,
      checkQuorum: cfg.checkQuorum,
      preVote: cfg.preVote,
      // As RaftNode does: with leases, a restarted node must not help elect a leader inside
      // another's lease; without, it listens briefly and then campaigns soon.
      ignoreVotesAfterStart: !cfg.campaignSoonAfterStart,
      campaignSoonAfterStart: cfg.campaignSoonAfterStart,
      random: new SeededRandom(deriveSeed(this.seed, node.index, node.inc)),
      logger: this.#logger(node.id),
    };
    if (cfg.maxSizePerMsg !== undefined) rc.maxSizePerMsg = cfg.maxSizePerMsg;
    if (cfg.maxInflightMsgs !== undefined) rc.maxInflightMsgs = cfg.maxInflightMsgs;
    if (cfg.maxInflightBytes !== undefined) rc.maxInflightBytes = cfg.maxInflightBytes;
    if (cfg.maxUncommittedEntriesSize !== undefined)
      rc.maxUncommittedEntriesSize = cfg.maxUncommittedEntriesSize;
    if (cfg.disableProposalForwarding) rc.disableProposalForwarding = true;
    if (cfg.deferCommitBroadcast) rc.deferCommitBroadcast = true;
    return rc;
  }

  #logger(id: string): Logger {
    const add = (level: string) => (message: string) => this.log(id, `[${level}] ${message}`);
    return {
      debug: this.verbose ? add("debug") : () => {},
      info: add("info"),
      warn: add("warn"),
      error: add("error"),
    };
  }

  // ---- events ----

  /** If the event's node is paused, re-queues the event for when the pause ends. */
  #deferred(node: SimNode, ev: SimEvent): boolean {
    if (node.pausedUntil <= this.queue.now) return false;
    this.queue.at(node.pausedUntil, ev);
    return true;
  }

  #handle(ev: SimEvent): void {
    switch (ev.type) {
      case "tick": {
        const node = this.byId.get(ev.node)!;
        if (!node.raw || node.inc !== ev.inc || this.#deferred(node, ev)) return;
        node.raw.tick();
        this.#processReady(node);
        const jitter = this.rng.chance(0.2) ? between(this.rng, -2, 2) : 0;
        this.queue.after(Math.max(1, node.tickPeriod + jitter), ev);
        return;
      }
      case "commitBroadcast": {
        const node = this.byId.get(ev.node)!;
        if (!node.raw || node.inc !== ev.inc || this.#deferred(node, ev)) return;
        node.commitBroadcastDueInc = -1;
        node.raw.broadcastCommit();
        this.#processReady(node);
        return;
      }
      case "deliver": {
        const to = this.byId.get(ev.msg.to);
        if (to?.raw && this.#deferred(to, ev)) return;
        this.#deliver(ev.msg, ev.fromInc);
        return;
      }
      case "report": {
        const node = this.byId.get(ev.node)!;
        if (!node.raw || node.inc !== ev.inc || this.#deferred(node, ev)) return;
        if (ev.snapshot) {
          this.log(node.id, `reportSnapshot(${ev.peer}, ${ev.ok})`);
          node.raw.reportSnapshot(ev.peer, ev.ok);
        } else {
          this.log(node.id, `reportUnreachable(${ev.peer})`);
          node.raw.reportUnreachable(ev.peer);
        }
        this.#processReady(node);
        return;
      }
      case "peer": {
        const node = this.byId.get(ev.node)!;
        if (!node.raw || node.inc !== ev.inc || this.#deferred(node, ev)) return;
        this.log(node.id, `report${ev.up ? "Reachable" : "Gone"}(${ev.peer})`);
        if (ev.up) node.raw.reportReachable(ev.peer);
        else node.raw.reportGone(ev.peer);
        this.#processReady(node);
        return;
      }
      case "client":
        this.#clientIssue(ev.client);
        return;
      case "clientSend": {
        const op = this.clients.pending(ev.client);
        if (!op || op.seq !== ev.seq) return;
        const node = this.byId.get(op.node)!;
        if (node.raw && this.#deferred(node, ev)) return;
        this.#clientSend(op);
        return;
      }
      case "timeout": {
        const op = this.clients.pending(ev.client);
        if (op && op.seq === ev.seq) this.#giveUp(op, "timed out");
        return;
      }
      case "partition": {
        if (this.phase !== "load") return;
        if (this.network.partitions.size < 2) {
          const p = this.network.randomPartition();
          const id = this.network.partition(p);
          const length = between(this.rng, 50, this.config.partitionLength);
          this.log("net", `partition #${id} ${p.kind} ${p.description} for ${length}ms`);
          this.queue.after(length, { type: "heal", id });
        }
        this.queue.after(this.#interval(this.config.partitionEvery), ev);
        return;
      }
      case "heal":
        if (this.network.partitions.has(ev.id)) {
          this.network.heal(ev.id);
          this.log("net", `heal partition #${ev.id}`);
          for (const node of this.nodes) this.#reconnect(node);
        }
        return;
      case "crash": {
        if (this.phase !== "load") return;
        const up = this.#preferMembers(this.nodes.filter((n) => n.raw !== null));
        if (up.length > 0) {
          const node = this.rng.pick(up);
          this.#crash(node);
          this.queue.after(between(this.rng, 10, this.config.downtime), { type: "restart", node: node.id });
        }
        this.queue.after(this.#interval(this.config.crashEvery), ev);
        return;
      }
      case "restart": {
        const node = this.byId.get(ev.node)!;
        if (!node.raw) this.#restart(node);
        return;
      }
      case "transfer": {
        if (this.phase !== "load") return;
        this.#transfer();
        this.queue.after(this.#interval(this.config.transferEvery), ev);
        return;
      }
      case "pause": {
        if (this.phase !== "load") return;
        const up = this.#preferMembers(
          this.nodes.filter((n) => n.raw !== null && n.pausedUntil <= this.queue.now),
        );
        if (up.length > 0) {
          const node = this.rng.pick(up);
          const length = between(this.rng, 10, this.config.pauseLength);
          node.pausedUntil = this.queue.now + length;
          this.stats.pauses++;
          this.log(node.id, `PAUSE for ${length}ms [${node.role}]`);
        }
        this.queue.after(this.#interval(this.config.pauseEvery), ev);
        return;
      }
      case "membership": {
        if (this.phase !== "load") return;
        this.#membershipChange();
        this.queue.after(this.#interval(this.config.confChangeEvery), ev);
        return;
      }
      case "settle":
        this.#settle();
        return;
      case "liveness":
        this.#livenessCheck();
        return;
    }
  }

  #deliver(m: Message, fromInc: number): void {
    const to = this.byId.get(m.to);
    const isSnap = m.type === "snapshot";
    const reportBack = (ok: boolean) => {
      if (isSnap) {
        this.queue.after(between(this.rng, 1, 10), {
          type: "report",
          node: m.from,
          inc: fromInc,
          peer: m.to,
          snapshot: true,
          ok,
        });
      }
    };
    if (!to?.raw) {
      this.log("net", () => `lost ${fmtMsg(m)}: ${m.to} is down`);
      reportBack(false);
      return;
    }
    if (this.network.isCut(m.from, m.to)) {
      this.log("net", () => `cut ${fmtMsg(m)} on arrival`);
      reportBack(false);
      return;
    }
    this.log(to.id, () => `recv ${fmtMsg(m)}`);
    to.raw.step(m);
    this.#processReady(to);
    reportBack(true);
  }

  /**
   * With campaignSoonAfterStart, each pair of running nodes that can talk both ways reconnects
   * (reachable to each other), as HTTP streams do after a restart or a healed partition.
   */
  #reconnect(node: SimNode): void {
    if (!this.config.campaignSoonAfterStart || !node.raw) return;
    for (const other of this.nodes) {
      if (other === node || !other.raw || this.network.isCut(node.id, other.id)) continue;
      if (this.network.isCut(other.id, node.id)) continue;
      for (const [a, b] of [
        [node, other],
        [other, node],
      ] as const)
        this.queue.after(between(this.rng, 1, 5), {
          type: "peer",
          node: a.id,
          inc: a.inc,
          peer: b.id,
          up: true,
        });
    }
  }

  #send(from: SimNode, m: Message): void {
    this.checker.onMessage(m);
    if (
      this.config.campaignSoonAfterStart &&
      !this.byId.get(m.to)?.raw &&
      !this.network.isCut(m.from, m.to)
    ) {
      // Nothing listens where a crashed node was: the connection is refused.
      this.queue.after(between(this.rng, 1, 5), {
        type: "peer",
        node: from.id,
        inc: from.inc,
        peer: m.to,
        up: false,
      });
    }
    if (m.type === "snapshot") this.stats.snapshotsSent++;
    const fate = this.network.route(m.from, m.to);
    if ("dropped" in fate) {
      this.log(from.id, () => `send ${fmtMsg(m)} DROPPED (${fate.dropped})`);
      if (m.type === "snapshot") {
        this.queue.after(between(this.rng, 1, 50), {
          type: "report",
          node: from.id,
          inc: from.inc,
          peer: m.to,
          snapshot: true,
          ok: false,
        });
      } else if (fate.dropped === "partition" && this.rng.chance(0.3)) {
        this.queue.after(1, {
          type: "report",
          node: from.id,
          inc: from.inc,
          peer: m.to,
          snapshot: false,
          ok: false,
        });
      }
      return;
    }
    if (fate.delays.length > 1 && m.type === "propose") {
      for (const e of m.entries) {
        const key = commandKey(e);
        if (key !== undefined) this.duplicatedProposals.add(key);
      }
    }
    this.log(from.id, () => `send ${fmtMsg(m)} +${fate.delays.join("ms,+")}ms`);
    for (const d of fate.delays)
      this.queue.after(d, { type: "deliver", msg: copyMessage(m), fromInc: from.inc });
  }

  // ---- one node's Ready ----

  #processReady(node: SimNode): void {
    const raw = node.raw;
    if (!raw) return;
    let rounds = 0;
    while (raw.hasReady()) {
      if (++rounds > 10_000)
        throw new InvariantViolation(`node ${node.id}: hasReady() stays true after 10000 Readies`);
      const rd = raw.ready();
      this.log(node.id, () => fmtReady(rd));
      let becameLeader = false;
      const wasLeader = node.role === "leader";
      if (rd.softState) {
        becameLeader = rd.softState.role === "leader" && node.role !== "leader";
        node.role = rd.softState.role;
      }
      const storage = node.storage;
      if (rd.snapshot && rd.snapshot.meta.index > 0) {
        storage.applySnapshot(rd.snapshot);
        const kv = KvMachine.restore(rd.snapshot.data, rd.snapshot.meta.index);
        this.checker.onSnapshotInstalled(node.id, rd.snapshot, kv.fingerprint());
        node.kv = kv;
        this.#setConf(node, rd.snapshot.meta.confState);
        this.stats.snapshotsInstalled++;
        if (this.checker.configAt(rd.snapshot.meta.index).index > this.bootstrapEntries)
          this.stats.confSnapshots++;
      }
      storage.append(rd.entries);
      this.checker.onPersist(node.id, rd.entries, storage);
      if (rd.hardState) {
        storage.setHardState(rd.hardState);
        this.checker.onHardState(node.id, rd.hardState, storage);
        if (wasLeader && node.role === "leader" && rd.hardState.commit > node.commit) {
          this.#checkCommitQuorum(node, rd.hardState.term, rd.hardState.commit);
        }
        node.commit = Math.max(node.commit, rd.hardState.commit);
      }
      if (becameLeader) {
        const term = raw.status().term;
        this.log(node.id, `became leader of term ${term} [config ${node.confKey}]`);
        this.checker.onLeader(node.id, term, storage, node.confState);
      }
      for (const m of rd.messages) this.#send(node, m);
      for (const e of rd.committedEntries) this.#apply(node, e);
      for (const rs of rd.readStates) {
        this.checker.onReadState(node.id, rs.index);
        const ctx = node.readOps.get(contextKey(rs.requestCtx));
        const op = ctx ? this.clients.pending(ctx.client) : undefined;
        if (op && ctx && op.seq === ctx.seq && op.node === node.id && op.incarnation === node.inc) {
          op.readIndex = rs.index;
        }
      }
      raw.advance(rd);
      this.#serveReads(node);
      this.#maybeCompact(node);
    }
    // As RaftNode does: a commit no append carried goes out a little later (a paused node's waits).
    if (
      this.config.deferCommitBroadcast &&
      node.commitBroadcastDueInc !== node.inc &&
      raw.hasUntoldCommit()
    ) {
      node.commitBroadcastDueInc = node.inc;
      this.queue.after(2, { type: "commitBroadcast", node: node.id, inc: node.inc });
    }
    this.#checkMembershipView(node, "after a step");
  }

  /** The node's membership, in its core and as the harness tracks it, is the configuration at its applied index. */
  #checkMembershipView(node: SimNode, when: string): void {
    if (!this.checkMembership || !node.raw) return;
    const applied = node.kv.applied;
    this.checker.checkMembership(node.id, this.#coreConfKey(node), applied, `${when} (its core)`);
    this.checker.checkMembership(node.id, node.confKey, applied, `${when} (the harness's view)`);
  }

  /** The key of the membership the node's core currently uses (cached while its config object is unchanged). */
  #coreConfKey(node: SimNode): string {
    const cfg = node.raw!.raft.trk.config;
    if (cfg !== node.coreConf) {
      node.coreConf = cfg;
      node.coreConfKey = confKey({
        voters: [...cfg.voters[0]],
        votersOutgoing: [...cfg.voters[1]],
        learners: [...cfg.learners],
        learnersNext: [...cfg.learnersNext],
        autoLeave: cfg.autoLeave,
      });
    }
    return node.coreConfKey;
  }

  #setConf(node: SimNode, cs: ConfState): void {
    node.confState = cs;
    node.confKey = confKey(cs);
  }

  /**
   * A leader advanced its commit index: a quorum of the voters of its configuration (both halves
   * of a joint one) must hold the entry in their durable logs — learners never count.
   */
  #checkCommitQuorum(leader: SimNode, term: number, commit: number): void {
    const t = leader.storage.term(commit);
    this.checker.onLeaderCommit(leader.id, term, commit, t, leader.confState, (id) => {
      const n = this.byId.get(id);
      if (!n) return false;
      const s = n.storage;
      if (commit <= s.firstIndex() - 1) return true; // in its snapshot, which lies on the committed prefix
      return commit <= s.lastIndex() && s.term(commit) === t;
    });
  }

  #apply(node: SimNode, e: Entry): void {
    this.checker.onApply(node.id, e);
    if (e.type === "confChange") {
      this.#applyConfChange(node, e);
      node.kv.skip(e.index);
    } else if (e.data.byteLength === 0) {
      node.kv.skip(e.index);
    } else {
      const cmd = decodeCommand(e.data);
      const res = node.kv.apply(e.index, cmd);
      if (!res.duplicate) {
        if (cmd.client === LIVENESS_CLIENT) {
          let set = this.liveApplied.get(cmd.seq);
          if (!set) {
            set = new Set();
            this.liveApplied.set(cmd.seq, set);
            this.liveIndex.set(cmd.seq, e.index);
          }
          set.add(node.id);
        } else {
          const op = this.clients.pendingWrite(cmd.client, cmd.seq, node.id, node.inc);
          if (op) this.#complete(op, { ok: res.ok });
        }
      }
    }
    if (this.config.compaction && !this.checker.hasState(e.index)) {
      this.checker.noteState(e.index, node.kv.fingerprint());
    }
  }

  /**
   * Applies a committed configuration entry through the core, as an application does, and
   * records the resulting membership (a change the core refuses leaves it as it was).
   */
  #applyConfChange(node: SimNode, e: Entry): void {
    const cc = decodeConfChange(e.data);
    let intended = node.confState;
    try {
      intended = applyConfModel(node.confState, cc);
    } catch (err) {
      if (!(err instanceof ModelRefusal)) throw err;
    }
    // A bootstrapped node applies its bootstrap entries twice (bootstrap() did already): it holds the full membership throughout.
    const doubled = node.bootstrapped && node.inc === 0 && e.index <= this.bootstrapEntries;
    const bug = doubled ? { cc, recordIntended: false } : this.#confChangeBug(node, cc);
    let cs = node.confState;
    try {
      if (bug.cc) cs = node.raw!.applyConfChange(bug.cc);
    } catch (err) {
      if (!(err instanceof ConfChangeError)) throw err;
      this.log(node.id, `configuration entry ${e.index} refused: ${err.message}`);
    }
    if (bug.cc !== cc) {
      this.log(
        node.id,
        `BUG: applied ${bug.cc ? fmtConfChange(bug.cc) : "nothing"} instead of ${fmtConfChange(cc)}`,
      );
    }
    this.#setConf(node, bug.recordIntended ? intended : cs);
    this.log(node.id, () => `applied ${fmtConfChange(cc)} at ${e.index}: ${node.confKey}`);
    // A leader recounts its commit index with the new configuration at once: check it under that one.
    const status = node.raw!.status();
    if (status.role === "leader" && status.commit > node.commit) {
      this.#checkCommitQuorum(node, status.term, status.commit);
      node.commit = status.commit;
    }
    this.checker.onConfApplied(node.id, e.index, node.confState, doubled ? this.bootstrapEntries : undefined);
  }

  /**
   * The change a deliberately broken harness hands the core instead of `cc` (see {@link SimBugs}),
   * and whether the harness then records the configuration it intended rather than the core's.
   */
  #confChangeBug(node: SimNode, cc: ConfChange): { cc: ConfChange | null; recordIntended: boolean } {
    const b = this.bugs;
    const asVoter = (which: (id: string) => boolean): ConfChange => {
      if (!cc.changes.some((c) => c.type === "addLearner" && which(c.nodeId))) return cc;
      return {
        ...cc,
        changes: cc.changes.map((c) =>
          c.type === "addLearner" && which(c.nodeId) ? { type: "addVoter", nodeId: c.nodeId } : c,
        ),
      };
    };
    if (b.divergentConfChange && node.id === "n2") return { cc: asVoter(() => true), recordIntended: false };
    if (b.wrongConfChange) return { cc: asVoter(() => true), recordIntended: false };
    if (b.learnerSelfPromotes) return { cc: asVoter((id) => id === node.id), recordIntended: true };
    if (b.learnerCounted) return { cc: asVoter((id) => id !== node.id), recordIntended: true };
    if (b.removedStays) {
      // Its own removal is applied as "stay what you are" (a leave-joint keeps it in the outgoing half).
      const core = node.raw!.raft.trk.config;
      const own = cc.changes.some((c) => c.type === "removeNode" && c.nodeId === node.id);
      const leaving = cc.changes.length === 0 && core.voters[1].has(node.id) && !core.voters[0].has(node.id);
      if (leaving) return { cc: null, recordIntended: true };
      if (own) {
        const kept: ConfChange = {
          ...cc,
          changes: cc.changes.map((c) =>
            c.type === "removeNode" && c.nodeId === node.id
              ? { type: core.voters[0].has(node.id) ? "addVoter" : "addLearner", nodeId: node.id }
              : c,
          ),
        };
        return { cc: kept, recordIntended: true };
      }
      return { cc, recordIntended: true };
    }
    return { cc, recordIntended: false };
  }

  #serveReads(node: SimNode): void {
    for (const op of this.clients.pendingReads(node.id, node.inc)) {
      if (op.readIndex !== null && node.kv.applied >= op.readIndex) {
        this.#complete(op, { output: node.kv.get(op.request.key) });
      }
    }
  }

  #maybeCompact(node: SimNode): void {
    const c = this.config.compaction;
    if (!c) return;
    const storage = node.storage;
    const applied = node.kv.applied;
    if (applied - storage.snapshot().meta.index < c.every || applied > storage.lastIndex()) return;
    // Within the bootstrap entries a bootstrapped node holds the full initial membership already
    // (bootstrap() applied them all at once), not the configuration at that index: no snapshot there.
    if (applied < this.bootstrapEntries) return;
    const cs = this.bugs.staleSnapshotConf
      ? this.checker.configAt(this.bootstrapEntries).state
      : node.confState;
    const snap = storage.createSnapshot(applied, cs, node.kv.snapshot());
    this.checker.onSnapshotCreated(
      node.id,
      applied,
      snap.meta.term,
      node.kv.fingerprint(),
      snap.meta.confState,
    );
    const to = applied - c.keep;
    if (to >= storage.firstIndex()) storage.compact(to);
    this.stats.compactions++;
    this.log(node.id, `snapshot at ${applied}@${snap.meta.term}, log compacted to ${to}`);
  }

  #onCommitted(e: Entry): void {
    const key = commandKey(e);
    if (key === undefined) return;
    const first = this.committedCommands.get(key);
    if (first === undefined) {
      this.committedCommands.set(key, e.index);
    } else if (!this.duplicatedProposals.has(key)) {
      throw new InvariantViolation(
        `command ${key} (client/seq) was proposed once but committed twice, at ${first} and ${e.index}`,
      );
    }
  }

  /** A configuration entry was committed: count what it did. */
  #onConfCommitted(c: ConfCommit): void {
    const before = membersOf(c.before);
    const after = membersOf(c.after);
    if (c.index > this.bootstrapEntries) {
      this.stats.confCommitted++;
      if (c.refused !== null) this.stats.confInvalid++;
      const kind = confKindOf(c.cc);
      if (kind) this.confKinds[kind]++;
      if (!isJointConf(c.before) && isJointConf(c.after)) this.stats.jointEntered++;
      if (isJointConf(c.before) && !isJointConf(c.after)) this.stats.jointLeft++;
      for (const id of after) if (!before.has(id)) this.stats.nodesAdded++;
      for (const id of before) if (!after.has(id)) this.stats.nodesRemoved++;
    }
    for (const id of after) this.everMember.add(id);
    this.log("sim", () => `committed configuration ${c.index}: ${fmtConfChange(c.cc)} → ${confKey(c.after)}`);
  }

  // ---- faults ----

  #crash(node: SimNode): void {
    node.raw = null;
    node.role = "follower";
    node.pausedUntil = 0;
    this.stats.crashes++;
    for (const op of this.clients.pendingOn(node.id)) this.#giveUp(op, `${node.id} crashed`);
    let lost = "";
    if (this.bugs.loseTail) {
      const s = node.storage;
      const first = s.firstIndex();
      const keepTo = Math.max(first - 1, s.lastIndex() - between(this.rng, 1, 3));
      if (keepTo < s.lastIndex()) {
        const fresh = new MemoryStorage();
        const snap = s.snapshot();
        if (snap.meta.index > 0) fresh.applySnapshot(snap);
        fresh.append(keepTo >= first ? s.entries(first, keepTo + 1) : []);
        const hs = s.initialState().hardState;
        fresh.setHardState({ ...hs, commit: Math.min(hs.commit, keepTo) });
        lost = ` (BUG: disk lost entries ${keepTo + 1}..${s.lastIndex()})`;
        node.storage = fresh;
      }
    }
    if (this.bugs.loseConfState) {
      const snap = node.storage.snapshot();
      if (snap.meta.index > 0) {
        node.storage.installSnapshot({ ...snap, meta: { ...snap.meta, confState: emptyConf() } });
        lost += ` (BUG: disk lost the ConfState of snapshot ${snap.meta.index})`;
      }
    }
    this.log(node.id, `CRASH${lost}`);
  }

  #restart(node: SimNode): void {
    if (this.bugs.forgetVote) {
      const hs = node.storage.initialState().hardState;
      node.storage.setHardState({ ...hs, vote: null });
    }
    node.inc++;
    node.readSeq = 0;
    node.readOps.clear();
    const snap = node.storage.snapshot();
    const hs = node.storage.initialState().hardState;
    node.kv = KvMachine.restore(snap.data, snap.meta.index);
    this.#setConf(node, snap.meta.index > 0 ? snap.meta.confState : emptyConf());
    node.role = "follower";
    node.commit = hs.commit;
    this.checker.onRestart(node.id, hs, snap.meta.index);
    if (this.checker.configAt(hs.commit).index > this.bootstrapEntries) this.stats.confRestarts++;
    this.log(
      node.id,
      `RESTART (term ${hs.term}, vote ${hs.vote}, commit ${hs.commit}, snapshot ${snap.meta.index}, last index ${node.storage.lastIndex()})`,
    );
    node.raw = new RawNode(this.#raftConfig(node, snap.meta.index));
    // It resumes with the membership of its snapshot; the committed entries after it are applied again.
    this.#checkMembershipView(node, `restarted from snapshot ${snap.meta.index}`);
    this.queue.after(this.rng.int(node.tickPeriod), { type: "tick", node: node.id, inc: node.inc });
    this.#reconnect(node);
    this.#processReady(node);
  }

  #transfer(): void {
    const up = this.nodes.filter((n) => n.raw !== null && n.pausedUntil <= this.queue.now);
    if (up.length === 0) return;
    const leaders = up.filter((n) => n.role === "leader");
    const from = leaders.length > 0 && this.rng.chance(0.8) ? this.rng.pick(leaders) : this.rng.pick(up);
    const latest = this.checker.latestConfig.state;
    let targets = this.nodes.filter((n) => n !== from && isVoterIn(latest, n.id));
    if (targets.length === 0 || this.rng.chance(0.1)) targets = this.nodes.filter((n) => n !== from);
    if (targets.length === 0) return;
    const to = this.rng.pick(targets);
    this.stats.transfers++;
    this.log(from.id, `transferLeader(${to.id}) [${from.role}]`);
    from.raw!.transferLeader(to.id);
    this.#processReady(from);
  }

  #settle(): void {
    this.phase = "settle";
    this.settledAt = this.queue.now;
    this.network.healAll();
    this.network.faults = QUIET_LINKS;
    this.log("sim", "SETTLE: partitions healed, faults off, crashed nodes restart, no new client operations");
    for (const node of this.nodes) if (!node.raw) this.#restart(node);
    this.queue.after(20, { type: "liveness" });
  }

  /**
   * After the heal a write must be applied on every member of the configuration it was committed
   * in (a removed node need not apply later entries; an added one must), and the cluster must
   * have left any joint configuration.
   */
  #livenessCheck(): void {
    const now = this.queue.now;
    const latest = this.checker.latestConfig;
    if (this.livenessMs < 0 && !isJointConf(latest.state)) {
      for (const [seq, set] of this.liveApplied) {
        const members = membersOf(this.checker.configAt(this.liveIndex.get(seq)!).state);
        if ([...members].every((id) => set.has(id))) {
          this.livenessMs = now - this.settledAt;
          this.log(
            "sim",
            `liveness: write #${seq} applied on every member of ${latest.key}, ${this.livenessMs}ms after the heal`,
          );
          break;
        }
      }
    }
    if (this.livenessMs < 0) {
      if (now - this.settledAt > this.livenessTimeout) {
        const roles = this.nodes.map(
          (n) =>
            `${n.id}:${n.raw ? `${n.role}@${n.raw.status().term}` : "down"}/applied ${n.kv.applied}/${n.confKey}`,
        );
        throw new InvariantViolation(
          `liveness: ${this.livenessTimeout}ms after the heal no write is applied on every member of ${latest.key} ` +
            `or the configuration is still joint (${roles.join("; ")}; ${this.liveSeq} liveness writes proposed)`,
        );
      }
      if (now - this.liveProposedAt >= 300) this.#proposeLiveness();
    } else if (this.clients.allPending().length === 0) {
      this.finished = true;
      return;
    }
    this.queue.after(20, { type: "liveness" });
  }

  #proposeLiveness(): void {
    const leader = this.#leader();
    if (!leader) return;
    // A joint configuration entered with the "explicit" transition is only left when asked to.
    if (isJointConf(leader.confState) && !leader.confState.autoLeave) {
      this.#proposeConfChange(leader, { transition: "auto", changes: [], context: this.#context("leave") });
    }
    const seq = ++this.liveSeq;
    const data = encodeCommand({
      client: LIVENESS_CLIENT,
      seq,
      op: "put",
      key: "live",
      value: seq,
      expected: null,
    });
    try {
      leader.raw!.propose(data);
      this.liveProposedAt = this.queue.now;
      this.log(leader.id, `propose liveness write #${seq}`);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
      this.log(leader.id, `liveness write #${seq} dropped: ${e.reason}`);
    }
    this.#processReady(leader);
  }

  /**
   * Mostly the members of the newest committed configuration among `nodes` (removed and
   * never-added nodes still run, and now and then get a client or a fault too).
   */
  #preferMembers(nodes: SimNode[]): SimNode[] {
    if (this.rng.chance(0.15)) return nodes;
    const members = membersOf(this.checker.latestConfig.state);
    const out = nodes.filter((n) => members.has(n.id));
    return out.length > 0 ? out : nodes;
  }

  // ---- membership changes ----

  #context(kind: ConfKind): string {
    return `${kind}#${++this.confSeq}`;
  }

  /** The leader of the highest term among the running, unpaused nodes. */
  #leader(): SimNode | undefined {
    let leader: SimNode | undefined;
    let best = -1;
    for (const n of this.nodes) {
      if (n.raw && n.role === "leader" && n.pausedUntil <= this.queue.now) {
        const t = n.raw.status().term;
        if (t > best) {
          best = t;
          leader = n;
        }
      }
    }
    return leader;
  }

  /**
   * Draws a membership change valid for the leader's configuration and proposes it there. A
   * joint configuration entered with the "explicit" transition is left first.
   */
  #membershipChange(): void {
    const leader = this.#leader();
    if (!leader) return;
    const conf = leader.confState;
    if (isJointConf(conf)) {
      if (!conf.autoLeave) {
        this.#proposeConfChange(leader, { transition: "auto", changes: [], context: this.#context("leave") });
      }
      return;
    }
    const cc = this.#drawConfChange(leader, conf);
    if (cc) this.#proposeConfChange(leader, cc);
  }

  #drawConfChange(leader: SimNode, conf: ConfState): ConfChange | null {
    const rng = this.rng;
    const voters = conf.voters;
    const others = voters.filter((v) => v !== leader.id);
    const members = membersOf(conf).size;
    const canAdd = members < MAX_MEMBERS && this.#spares(conf).length > 0;
    const status = leader.raw!.status();
    const caughtUp = conf.learners.filter((id) => {
      const pr = status.progress[id];
      return pr !== undefined && pr.match + 3 >= status.commit;
    });
    const kinds: ConfKind[] = [];
    const add = (k: ConfKind, weight: number) => {
      for (let i = 0; i < weight; i++) kinds.push(k);
    };
    if (canAdd) add("addLearner", 4);
    if (caughtUp.length > 0 && voters.length < MAX_VOTERS) add("promote", 4);
    if (canAdd && voters.length < MAX_VOTERS) add("addVoter", 1);
    if (voters.length > MIN_VOTERS) {
      add("removeVoter", 2);
      add("removeLeader", 1);
      add("demote", 2);
    }
    if (conf.learners.length > 0) add("removeLearner", 1);
    if (canAdd || caughtUp.length > 0) add("replace", 3);
    if (voters.length <= MAX_VOTERS - 2 && this.#spares(conf).length + caughtUp.length >= 2) add("grow", 2);
    if (voters.length >= MIN_VOTERS + 2) add("shrink", 2);
    if (kinds.length === 0) return null;
    const kind = rng.pick(kinds);
    /** A voter to add: a caught-up learner, or a brand-new node. */
    const newVoter = (exclude: string[] = []): string => {
      const ready = caughtUp.filter((id) => !exclude.includes(id));
      if (ready.length > 0 && (rng.chance(0.5) || !this.#canSpawnFor(conf, exclude))) return rng.pick(ready);
      return this.#spare(conf, exclude);
    };
    const jointTransition = (): ConfChange["transition"] => {
      const r = rng.next();
      return r < 0.6 ? "auto" : r < 0.75 ? "implicit" : "explicit";
    };
    /** Mostly a simple change; sometimes a joint one with a single change. */
    const single = (type: "addVoter" | "addLearner" | "removeNode", nodeId: string): ConfChange => {
      const r = rng.next();
      const transition = r < 0.8 ? "auto" : r < 0.9 ? "implicit" : "explicit";
      return { transition, changes: [{ type, nodeId }], context: this.#context(kind) };
    };
    const outgoing = (n: number): string[] => {
      const pool = [...others];
      const out: string[] = [];
      if (rng.chance(0.3)) out.push(leader.id);
      while (out.length < n) {
        const i = rng.int(pool.length);
        out.push(pool.splice(i, 1)[0]!);
      }
      return out;
    };
    switch (kind) {
      case "addLearner":
        return single("addLearner", this.#spare(conf));
      case "promote":
        return single("addVoter", rng.pick(caughtUp));
      case "addVoter":
        return single("addVoter", this.#spare(conf));
      case "removeVoter":
        return single("removeNode", rng.pick(others));
      case "removeLearner":
        return single("removeNode", rng.pick(conf.learners));
      case "removeLeader":
        return single("removeNode", leader.id);
      case "demote":
        return single("addLearner", rng.chance(0.25) ? leader.id : rng.pick(others));
      case "replace": {
        const [out] = outgoing(1);
        const changes: ConfChange["changes"] = [
          { type: "addVoter", nodeId: newVoter() },
          { type: rng.chance(0.3) ? "addLearner" : "removeNode", nodeId: out! },
        ];
        if (rng.chance(0.5)) changes.reverse();
        return { transition: jointTransition(), changes, context: this.#context(kind) };
      }
      case "grow": {
        const a = newVoter();
        const b = newVoter([a]);
        return {
          transition: jointTransition(),
          changes: [
            { type: "addVoter", nodeId: a },
            { type: "addVoter", nodeId: b },
          ],
          context: this.#context(kind),
        };
      }
      case "shrink": {
        const outs = outgoing(2);
        return {
          transition: jointTransition(),
          changes: outs.map((id) => ({ type: rng.chance(0.2) ? "addLearner" : "removeNode", nodeId: id })),
          context: this.#context(kind),
        };
      }
      default:
        return null;
    }
  }

  /**
   * Nodes that may join `conf`: started during the run, never a member of a committed
   * configuration (a removed node is never added back) and not in `conf` — a node whose addition
   * was proposed but never committed is reused — plus an empty string for each brand-new node
   * that may still be started.
   */
  #spares(conf: ConfState): string[] {
    const inConf = membersOf(conf);
    const out = this.nodes
      .filter((n) => !n.bootstrapped && !this.everMember.has(n.id) && !inConf.has(n.id))
      .map((n) => n.id);
    const room = MAX_SPAWNED - this.stats.nodesSpawned;
    for (let i = 0; i < room; i++) out.push("");
    return out;
  }

  #canSpawnFor(conf: ConfState, exclude: string[]): boolean {
    return this.#spares(conf).filter((id) => !exclude.includes(id)).length > 0;
  }

  /** A node to add: an idle spare if there is one, else a brand-new node, started now. */
  #spare(conf: ConfState, exclude: string[] = []): string {
    const idle = this.#spares(conf).filter((id) => id !== "" && !exclude.includes(id));
    if (idle.length > 0) return this.rng.pick(idle);
    const node = this.#newNode(`n${this.nodes.length + 1}`, false);
    this.stats.nodesSpawned++;
    this.network.addNode(node.id);
    node.raw = new RawNode(this.#raftConfig(node, 0));
    this.log(node.id, `SPAWN: empty storage, no bootstrap, tick every ${node.tickPeriod}ms`);
    this.queue.after(this.rng.int(node.tickPeriod), { type: "tick", node: node.id, inc: node.inc });
    return node.id;
  }

  /** Proposes `cc` on `leader`, which must be valid for its configuration; a refusal is expected now and then. */
  #proposeConfChange(leader: SimNode, cc: ConfChange): void {
    try {
      applyConfModel(leader.confState, cc);
    } catch (err) {
      if (!(err instanceof ModelRefusal)) throw err;
      throw new Error(`harness: drew ${fmtConfChange(cc)}, invalid for ${leader.confKey}: ${err.message}`);
    }
    try {
      leader.raw!.proposeConfChange(cc);
      this.stats.confProposed++;
      this.log(leader.id, `proposeConfChange ${fmtConfChange(cc)} [config ${leader.confKey}]`);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
      this.stats.confRefused++;
      this.log(leader.id, `conf change ${fmtConfChange(cc)} refused: ${e.reason}`);
    }
    this.#processReady(leader);
  }

  // ---- clients ----

  #clientIssue(c: number): void {
    if (this.phase !== "load" || this.clients.pending(c)) return;
    const up = this.#preferMembers(this.nodes.filter((n) => n.raw !== null));
    if (up.length === 0) {
      this.queue.after(20, { type: "client", client: c });
      return;
    }
    const leaders = up.filter((n) => n.role === "leader");
    const node = leaders.length > 0 && this.rng.chance(0.5) ? this.rng.pick(leaders) : this.rng.pick(up);
    const request = this.clients.nextRequest(c);
    const op = this.clients.begin(c, request, node.id, node.inc, this.queue.now);
    this.queue.after(this.config.opTimeout, { type: "timeout", client: c, seq: op.seq });
    if (node.pausedUntil > this.queue.now) {
      // The request waits in the paused node's inbox, like its messages.
      this.log("client", () => `c${c} #${op.seq} ${fmtRequest(request)} → ${node.id} (paused)`);
      this.queue.at(node.pausedUntil, { type: "clientSend", client: c, seq: op.seq });
      return;
    }
    this.log("client", () => `c${c} #${op.seq} ${fmtRequest(request)} → ${node.id}`);
    this.#clientSend(op);
  }

  /**
   * The context of a get's read request, made as RaftNode makes it (node, incarnation and a
   * counter of this life), remembered so its ReadState finds the get.
   */
  #readContext(node: SimNode, client: number, seq: number): Uint8Array {
    const n = ++node.readSeq;
    let ctx: Uint8Array;
    if (this.bugs.collidingReadContexts) {
      ctx = new Uint8Array(8);
      new DataView(ctx.buffer).setFloat64(0, n);
    } else ctx = readRequestContext(node.id, String(node.inc), n);
    node.readOps.set(contextKey(ctx), { client, seq });
    return ctx;
  }

  /** Hands a client's request to its node: propose for a write, readIndex for a get. */
  #clientSend(op: PendingOp): void {
    const node = this.byId.get(op.node)!;
    if (!node.raw || node.inc !== op.incarnation) return;
    const { client: c, request } = op;
    if (request.kind === "get" && this.bugs.staleReads) {
      this.#complete(op, { output: node.kv.get(request.key) });
      return;
    }
    try {
      if (request.kind === "get") {
        node.raw.readIndex(this.#readContext(node, c, op.seq));
      } else {
        node.raw.propose(
          encodeCommand({
            client: c,
            seq: op.seq,
            op: request.kind,
            key: request.key,
            value: request.value,
            expected: request.kind === "cas" ? request.expected : null,
          }),
        );
      }
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
      this.clients.refused(op);
      this.log("client", `c${c} #${op.seq} refused by ${node.id}: ${e.reason}`);
      this.#nextOp(c);
      return;
    }
    this.#processReady(node);
  }

  #complete(op: PendingOp, answer: { ok: boolean } | { output: number | null }): void {
    if (!this.clients.complete(op, this.queue.now, answer)) return;
    this.log(
      "client",
      () => `c${op.client} #${op.seq} ${fmtRequest(op.request)} → ${JSON.stringify(answer)}`,
    );
    this.#nextOp(op.client);
  }

  #giveUp(op: PendingOp, why: string): void {
    if (!this.clients.giveUp(op)) return;
    this.log("client", `c${op.client} #${op.seq} ${fmtRequest(op.request)} unknown: ${why}`);
    this.#nextOp(op.client);
  }

  #nextOp(c: number): void {
    if (this.phase === "load")
      this.queue.after(between(this.rng, 1, this.config.think), { type: "client", client: c });
  }
}

function commandKey(e: Entry): string | undefined {
  if (e.type !== "normal" || e.data.byteLength === 0) return undefined;
  try {
    const c = decodeCommand(e.data);
    return `${c.client}/${c.seq}`;
  } catch {
    return undefined;
  }
}

function copyMessage(m: Message): Message {
  return { ...m, entries: m.entries.length === 0 ? [] : m.entries.map((e) => ({ ...e })) };
}

function describeError(e: unknown): string {
  if (e instanceof InvariantViolation) return e.message;
  if (e instanceof RaftkitError) return `unexpected ${e.name} (${e.code}): ${e.message}\n${stackOf(e)}`;
  if (e instanceof Error) return `exception: ${e.message}\n${stackOf(e)}`;
  return `exception: ${String(e)}`;
}

function stackOf(e: Error): string {
  return (e.stack ?? "").split("\n").slice(1, 8).join("\n");
}

/** A one-line summary of a message for the trace. */
export function fmtMsg(m: Message): string {
  let s = `${m.type} ${m.from}->${m.to} t${m.term}`;
  switch (m.type) {
    case "append":
      s += ` prev=${m.index}@${m.logTerm}`;
      if (m.entries.length > 0) s += ` ents=${fmtEntries(m.entries)}`;
      s += ` commit=${m.commit}`;
      break;
    case "appendResponse":
      s += m.reject ? ` REJECT ${m.index} hint=${m.rejectHint}@${m.logTerm}` : ` ok ${m.index}`;
      break;
    case "vote":
    case "preVote":
      s += ` last=${m.index}@${m.logTerm}`;
      break;
    case "voteResponse":
    case "preVoteResponse":
      s += m.reject ? " REJECT" : " granted";
      break;
    case "heartbeat":
      s += ` commit=${m.commit}`;
      break;
    case "snapshot":
      s += ` snap=${m.snapshot?.meta.index}@${m.snapshot?.meta.term}`;
      break;
    case "propose":
      s += ` n=${m.entries.length}`;
      break;
    case "readIndexResponse":
      s += ` index=${m.index}`;
      break;
    default:
      break;
  }
  if (m.context && m.context.byteLength > 0) s += ` ctx=${new TextDecoder().decode(m.context)}`;
  return s;
}

function fmtEntries(es: readonly Entry[]): string {
  const first = es[0]!;
  const last = es[es.length - 1]!;
  return first === last
    ? `${first.index}@${first.term}`
    : `${first.index}@${first.term}..${last.index}@${last.term}`;
}

function fmtReady(rd: Ready): string {
  const parts = ["ready"];
  if (rd.softState) parts.push(`role=${rd.softState.role} lead=${rd.softState.lead ?? "-"}`);
  if (rd.hardState)
    parts.push(`hs=t${rd.hardState.term}/v${rd.hardState.vote ?? "-"}/c${rd.hardState.commit}`);
  if (rd.snapshot) parts.push(`snapshot=${rd.snapshot.meta.index}@${rd.snapshot.meta.term}`);
  if (rd.entries.length > 0) parts.push(`persist=${fmtEntries(rd.entries)}`);
  if (rd.committedEntries.length > 0) parts.push(`apply=${fmtEntries(rd.committedEntries)}`);
  if (rd.messages.length > 0) parts.push(`msgs=${rd.messages.length}`);
  if (rd.readStates.length > 0) parts.push(`reads=${rd.readStates.map((r) => r.index).join(",")}`);
  return parts.join(" ");
}

function fmtRequest(r: ClientRequest): string {
  switch (r.kind) {
    case "get":
      return `get ${r.key}`;
    case "put":
      return `put ${r.key}=${r.value}`;
    case "cas":
      return `cas ${r.key} ${r.expected}→${r.value}`;
  }
}
