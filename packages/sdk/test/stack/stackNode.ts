import {
  type AppliedEntry,
  type NodeStatus,
  RaftNode,
  type SeededRandom,
  type StateMachine,
} from "@raftkit/core";
import { decodeValue, encodeValue } from "../../src/codec.js";
import { type CommandPayload, PUBLISH } from "../../src/commandLog.js";
import { type CommandRunner, createMachineNode, type MachineNode } from "../../src/machineNode.js";
import { ReplicatedMachine } from "../../src/replicatedMachine.js";
import {
  decideFirstStart,
  type FirstStart,
  type FirstStartRecord,
  type PeerView,
} from "../../src/start/firstStart.js";
import { NodeClock } from "../../src/testing/sim/nodeClock.js";
import { type Scheduler, SimProcess } from "../../src/testing/sim/scheduler.js";
import type { NetworkBugs, SimNetwork, SimTransport } from "../../src/testing/sim/simNetwork.js";
import { type KvMachine, kvMachine } from "./kvMachine.js";
import type { DiskBugs, NodeDisk } from "./nodeDisk.js";
import { maxClockOffset, type StackConfig } from "./stackConfig.js";

/** Ways to break a replica on purpose, each caught by one check. */
export interface NodeBugs extends DiskBugs, NetworkBugs {
  /** This node's `put` reducer stores a different value. */
  divergentReducer?: boolean;
  /** Every replica runs each log entry under a session of its own, so retried commands run twice. */
  forgetSessions?: boolean;
  /** A first member with empty storage bootstraps its peers without asking the cluster first (as before the first-start check). */
  blindBootstrap?: boolean;
}

/** What the checks hear from a running node. */
export interface NodeObserver {
  applied(node: StackNode, e: AppliedEntry): void;
  status(node: StackNode, s: NodeStatus): void;
  fatal(node: StackNode, e: Error): void;
  trace(line: string): void;
}

/** One incarnation's objects: the real code a user runs. */
export interface Incarnation {
  number: number;
  clock: NodeClock;
  raft: RaftNode;
  replicated: ReplicatedMachine<KvMachine>;
  node: MachineNode<KvMachine> & { runner: CommandRunner<KvMachine> };
  transport: SimTransport;
}

/** idle: never started yet; down: crashed (or failed to start); failed: stopped itself after a fatal error; lost: gone for good. */
export type NodeState = "idle" | "down" | "starting" | "running" | "failed" | "lost";

/**
 * One simulated member across its incarnations: its process, disk and clock parameters
 * persist; a crash abandons its objects (no stop()), and a restart builds new ones on the same
 * disk, which they recover from.
 */
export class StackNode {
  readonly id: string;
  readonly address: string;
  readonly proc: SimProcess;
  readonly disk: NodeDisk;
  state: NodeState = "idle";
  current: Incarnation | null = null;
  incarnations = 0;
  /** What this node's first start chose, as startNode records it in the data directory's IDENTITY file. */
  firstStart: FirstStartRecord | null = null;
  /** Why the last incarnation stopped on its own (a disk error), if it did. */
  fatalError: Error | null = null;
  /** Clock parameters of this machine: rate within 1%, wall offset, accumulated jumps. */
  readonly #rate: number;
  #wallOffset: number;
  readonly #maxOffset: number;
  readonly #sched: Scheduler;
  readonly #net: SimNetwork;
  readonly #rng: SeededRandom;
  readonly #config: StackConfig;
  readonly #bugs: NodeBugs;
  readonly #observer: NodeObserver;

  constructor(o: {
    id: string;
    sched: Scheduler;
    net: SimNetwork;
    disk: NodeDisk;
    rng: SeededRandom;
    config: StackConfig;
    bugs: NodeBugs;
    observer: NodeObserver;
  }) {
    this.id = o.id;
    this.address = `sim://${o.id}`;
    this.proc = new SimProcess(o.id);
    this.disk = o.disk;
    this.#sched = o.sched;
    this.#net = o.net;
    this.#rng = o.rng;
    this.#config = o.config;
    this.#bugs = o.bugs;
    this.#observer = o.observer;
    this.#rate = 0.99 + o.rng.next() * 0.02;
    this.#maxOffset = maxClockOffset(o.config);
    this.#wallOffset = (o.rng.next() - 0.5) * this.#maxOffset;
  }

  /**
   * Starts a new incarnation on this node's disk. On empty storage it joins, or with `bootstrap`
   * (a first member) decides as startNode does from what the peers it reaches say (`views`):
   * bootstrap, join a cluster that lists it, or refuse (the start fails, and is retried later).
   */
  async start(
    peers: Record<string, string>,
    bootstrap: boolean,
    views: () => PeerView[] = () => [],
  ): Promise<void> {
    this.state = "starting";
    this.fatalError = null;
    const number = ++this.incarnations;
    const clock = new NodeClock(this.#sched, this.proc, {
      rate: this.#rate,
      wallOffset: this.#wallOffset,
      monoOrigin: this.#rng.next() * 1e6,
    });
    const replicated = new ReplicatedMachine(
      kvMachine({ divergent: this.#bugs.divergentReducer === true, sorted: this.#config.sortedState }),
      this.#config.sessionTtlMs,
      { clock },
    );
    const transport = this.#net.transport(this.id, this.proc);
    const storage = await this.disk.open(clock);
    const generation = this.proc.generation;
    const c = this.#config;
    const fresh = storage.lastIndex() === 0 && storage.initialState().hardState.term === 0;
    let first: FirstStart | null = null;
    if (fresh && bootstrap && !this.#bugs.blindBootstrap) {
      first = decideFirstStart({ id: this.id, peers, views: views(), recorded: this.firstStart });
      // startNode's IDENTITY file, written (fsynced) before the runtime starts: it survives crashes.
      this.firstStart ??= first.kind === "join" ? { joined: true } : { initialMembers: first.voters };
      if (first.kind === "join" && first.peer !== null)
        this.#observer.trace(
          `${this.id}: empty storage, and ${first.peer}'s cluster lists it: joins instead of bootstrapping`,
        );
    }
    const raft = await RaftNode.start({
      id: this.id,
      storage,
      transport,
      stateMachine: this.#bugs.forgetSessions ? forgetfulSessions(replicated) : replicated,
      peers,
      bootstrap: first ? first.kind === "bootstrap" : bootstrap,
      ...(first?.kind === "bootstrap" && { initialVoters: first.voters }),
      tickMs: c.tickMs,
      electionTick: c.electionTick,
      heartbeatTick: 1,
      // Pre-vote makes split votes (where a forged vote shows) rare: the forgeVotes variant runs without it.
      preVote: this.#bugs.forgeVotes !== true,
      snapshotEntries: c.snapshotEntries,
      snapshotCatchUpEntries: c.snapshotCatchUpEntries,
      proposalTimeoutMs: 2_000,
      readTimeoutMs: 2_000,
      // The checks look for stale lease reads, so the stack serves them.
      leaseReads: true,
      clock,
      random: { int: (n) => this.#rng.int(n) },
    });
    if (this.proc.generation !== generation) return;
    const node = createMachineNode(raft, replicated, {
      clock,
      newSessionId: (createdAt) => stampedSessionId(createdAt, this.#rng),
      commandTimeoutMs: 5_000,
    });
    this.current = { number, clock, raft, replicated, node, transport };
    this.state = "running";
    raft.applied$.subscribe((e) => this.#observer.applied(this, e));
    let role = raft.status().role;
    const stoppedBy = (e: Error): void => {
      if (this.current?.raft !== raft || this.state !== "running") return;
      this.state = "failed";
      this.fatalError = e;
      this.#observer.fatal(this, e);
    };
    // A fatal error stops the node: it says so in its status (or, before core said so, errored the stream).
    raft.status$.subscribe({
      next: (s: NodeStatus) => {
        if (s.stopped) return stoppedBy(new Error(s.stoppedReason ?? "stopped"));
        this.#observer.status(this, s);
        if (s.role !== role) this.#observer.trace(`${this.id}: ${s.role} in term ${s.term}`);
        role = s.role;
      },
      error: (e: unknown) => stoppedBy(e as Error),
    });
    // Announce that this member ran, as startNode does.
    void node.runner
      .system(PUBLISH, { id: this.id, incarnation: `${this.id}.${number}` }, { timeoutMs: 3_600_000 })
      .catch(() => {});
  }

  /** Kills the process: nothing is stopped or flushed; whatever the disk had not made durable is lost. */
  crash(): void {
    this.#sched.kill(this.proc);
    void this.current?.transport.stop();
    this.disk.crash();
    this.current = null;
    this.state = "down";
  }

  /** Loses the node for good (machine and disk gone). */
  lose(): void {
    this.crash();
    this.state = "lost";
  }

  /** Steps this machine's wall clock (timers and monotonic time are unaffected). */
  jumpClock(ms: number): void {
    const to = Math.max(-this.#maxOffset, Math.min(this.#maxOffset, this.#wallOffset + ms));
    this.current?.clock.jump(to - this.#wallOffset);
    this.#wallOffset = to;
  }

  /** The running incarnation, or null if the node is down, failed or lost. */
  get live(): Incarnation | null {
    return this.state === "running" ? this.current : null;
  }
}

/** A session id stamped with its creation time, in the SDK's format (`rk1-<ms base 36>-<96 bits hex>`), drawn from the seed. */
export function stampedSessionId(createdAt: number, rng: SeededRandom): string {
  let hex = "";
  for (let i = 0; i < 24; i++) hex += rng.int(16).toString(16);
  return `rk1-${Math.max(0, Math.floor(createdAt)).toString(36)}-${hex}`;
}

/**
 * A broken StateMachine: gives every entry a session of its own, so the session table never
 * recognises a retried command, on every replica alike.
 */
function forgetfulSessions(m: StateMachine): StateMachine {
  return {
    apply: (entries) =>
      m.apply(
        entries.map((e) => {
          let p: CommandPayload;
          try {
            p = decodeValue<CommandPayload>(e.data, "entry");
          } catch {
            return e;
          }
          return { ...e, data: encodeValue({ ...p, session: `${p.session}#${e.index}` }, "entry") };
        }),
      ),
    snapshot: () => m.snapshot(),
    restore: (d) => m.restore(d),
  };
}
