import { type AppliedEntry, RaftNode, type SeededRandom } from "@raftkit/core";
import { openFileStorage } from "@raftkit/store-fs";
import { SimulatedDisk } from "@raftkit/store-fs/testing";
import { PUBLISH } from "../commandLog.js";
import { type CommandRunner, createMachineNode } from "../machineNode.js";
import { ReplicatedMachine } from "../replicatedMachine.js";
import type { AnyMachine } from "../types.js";
import { NodeClock } from "./sim/nodeClock.js";
import { type Scheduler, SimProcess } from "./sim/scheduler.js";
import type { SimNetwork, SimTransport } from "./sim/simNetwork.js";

/** Timing of the simulated cluster: short, so that a seed runs many elections in little real time. */
export const TICK_MS = 10;
export const ELECTION_TICK = 10;
/** Small WAL segments and frequent snapshots, so both roll over within a run. */
const SEGMENT_BYTES = 8 * 1024;
const SNAPSHOT_ENTRIES = 24;

/** One incarnation of a node: the objects a user's process holds. */
export interface ChaosIncarnation {
  raft: RaftNode;
  replicated: ReplicatedMachine<AnyMachine>;
  runner: CommandRunner<AnyMachine>;
  transport: SimTransport;
}

/**
 * One simulated member across its incarnations: its process, its disk (the real FileStorage on
 * a SimulatedDisk: a crash keeps only what was fsynced, and may tear the last write) and its
 * clock parameters persist; a crash abandons its objects, a restart recovers from the disk.
 */
export class ChaosNode {
  readonly id: string;
  readonly proc: SimProcess;
  readonly disk: SimulatedDisk;
  current: ChaosIncarnation | null = null;
  readonly #rate: number;
  readonly #wallOffset: number;
  readonly #o: ChaosNodeOptions;

  constructor(id: string, o: ChaosNodeOptions) {
    this.id = id;
    this.#o = o;
    this.proc = new SimProcess(id);
    this.disk = new SimulatedDisk({ random: () => o.rng.next() });
    this.#rate = 0.99 + o.rng.next() * 0.02;
    this.#wallOffset = (o.rng.next() - 0.5) * 200;
  }

  get address(): string {
    return `sim://${this.id}`;
  }

  /** Starts a new incarnation on this node's disk; a failure to start leaves the node down. */
  async start(peers: Record<string, string>): Promise<void> {
    const { sched, net, rng, machine } = this.#o;
    const clock = new NodeClock(sched, this.proc, {
      rate: this.#rate,
      wallOffset: this.#wallOffset,
      monoOrigin: rng.next() * 1e6,
    });
    const generation = this.proc.generation;
    const replicated = new ReplicatedMachine(machine, this.#o.sessionTtlMs, { clock });
    const transport = net.transport(this.id, this.proc);
    const storage = await openFileStorage(`/data/${this.id}`, {
      vfs: this.disk.vfs,
      segmentBytes: SEGMENT_BYTES,
      setImmediate: (fn) => clock.setImmediate(fn),
    });
    if (this.proc.generation !== generation) return;
    const raft = await RaftNode.start({
      id: this.id,
      storage,
      transport,
      stateMachine: replicated,
      peers,
      bootstrap: true,
      tickMs: TICK_MS,
      electionTick: ELECTION_TICK,
      heartbeatTick: 1,
      snapshotEntries: SNAPSHOT_ENTRIES,
      snapshotCatchUpEntries: 8,
      proposalTimeoutMs: 1_000,
      readTimeoutMs: 1_000,
      clock,
      random: { int: (k) => rng.int(k) },
    });
    if (this.proc.generation !== generation) return;
    const node = createMachineNode(raft, replicated, {
      clock,
      newSessionId: (createdAt) => sessionId(createdAt, rng),
      commandTimeoutMs: 3_000,
    });
    this.current = { raft, replicated, runner: node.runner, transport };
    raft.applied$.subscribe((e) => this.#o.applied(this, e));
    void node.runner
      .system(PUBLISH, { id: this.id, incarnation: `${this.id}.${generation}` })
      .catch(() => {});
  }

  /** Kills the process: nothing is flushed; the disk keeps only what was fsynced (perhaps a torn last write). */
  crash(): void {
    this.#o.sched.kill(this.proc);
    void this.current?.transport.stop();
    this.disk.crash();
    this.current = null;
  }
}

/** What every node of one run shares. */
export interface ChaosNodeOptions {
  sched: Scheduler;
  net: SimNetwork;
  rng: SeededRandom;
  machine: AnyMachine;
  sessionTtlMs: number;
  applied: (node: ChaosNode, e: AppliedEntry) => void;
}

/** A session id in the SDK's format (`rk1-<ms base 36>-<96 bits hex>`), drawn from the seed. */
export function sessionId(createdAt: number, rng: SeededRandom): string {
  let hex = "";
  for (let i = 0; i < 24; i++) hex += rng.int(16).toString(16);
  return `rk1-${Math.max(0, Math.floor(createdAt)).toString(36)}-${hex}`;
}
