import { MemoryNetwork, MemoryStorage, RaftNode, type RaftNodeOptions, SeededRandom } from "@raftkit/core";
import { advanceUntil, type PausedProcess, settleInSimulatedTime } from "@raftkit/core/testing";
import { vi } from "vitest";
import { createMachineNode, type MachineNodeOptions } from "../src/machineNode.js";
import { ReplicatedMachine } from "../src/replicatedMachine.js";
import type { AnyMachine } from "../src/types.js";

/** Per-node replacements: a storage (e.g. a slow one), a pausable process (its clock and traffic). */
export interface LocalNodeHooks {
  storage?: (id: string) => MemoryStorage;
  process?: (id: string) => PausedProcess | undefined;
  /** Further runtime options of one node (e.g. a pinned random source). */
  raft?: (id: string) => Partial<RaftNodeOptions>;
  /** The machine one node runs, when it is not the cluster's (e.g. older or newer code). */
  machine?: (id: string) => AnyMachine | undefined;
  /** How long idle sessions are kept, in log time. Default 60 s. */
  sessionTtlMs?: number;
}

/** A cluster of machine nodes in one process on a MemoryNetwork, driven by vitest's fake timers. */
export class LocalCluster<M extends AnyMachine> {
  readonly net = new MemoryNetwork();
  readonly nodes = new Map<string, ReturnType<typeof createMachineNode<M>>>();
  readonly machines = new Map<string, ReplicatedMachine<M>>();
  readonly storages = new Map<string, MemoryStorage>();
  #starts = 0;

  constructor(
    readonly machine: M,
    readonly ids: string[] = ["a", "b", "c"],
    readonly nodeOptions: MachineNodeOptions = {},
    readonly hooks: LocalNodeHooks = {},
  ) {}

  async start(id: string): Promise<ReturnType<typeof createMachineNode<M>>> {
    const storage = this.storages.get(id) ?? this.hooks.storage?.(id) ?? new MemoryStorage();
    this.storages.set(id, storage);
    const machine = (this.hooks.machine?.(id) ?? this.machine) as M;
    const proc = this.hooks.process?.(id);
    const rm = new ReplicatedMachine(
      machine,
      this.hooks.sessionTtlMs ?? 60_000,
      proc ? { clock: proc.clock } : {},
    );
    this.machines.set(id, rm);
    const transport = this.net.transport(id);
    const raft = await RaftNode.start({
      id,
      storage,
      transport: proc ? proc.transport(transport) : transport,
      ...(proc && { clock: proc.clock }),
      stateMachine: rm,
      peers: Object.fromEntries(this.ids.map((p) => [p, `mem://${p}`])),
      bootstrap: true,
      tickMs: 10,
      snapshotEntries: 40,
      snapshotCatchUpEntries: 5,
      // The runtime seeds election timeouts per process by default; tests in simulated time
      // need the same timeouts on every run, so each start of each node gets its own seed.
      random: new SeededRandom(this.ids.indexOf(id) + 1 + this.#starts++ * 97),
      ...this.hooks.raft?.(id),
    });
    const node = createMachineNode(raft, rm, {
      // A follower follows a learner's catch-up through the leader's status, as over HTTP.
      remoteStatus: async (other) => this.nodes.get(other)?.status() ?? null,
      remotePublished: async (other) => {
        const n = this.nodes.get(other);
        return n ? Object.keys(n.publishedMembers()) : null;
      },
      ...this.nodeOptions,
      ...(proc && { clock: proc.clock }),
    });
    this.nodes.set(id, node);
    return node;
  }

  /**
   * Starts every node on real timers and waits until the leader has applied its own first entry
   * (the bootstrap configuration entries, then the leader's empty entry).
   */
  async startReady(): Promise<this> {
    await this.startAll();
    await waitFor(() => (this.leader()?.status().applied ?? 0) >= this.ids.length + 1);
    return this;
  }

  async startAll(): Promise<void> {
    for (const id of this.ids) await this.start(id);
  }

  node(id: string): ReturnType<typeof createMachineNode<M>> {
    return this.nodes.get(id)!;
  }

  leader(): ReturnType<typeof createMachineNode<M>> | undefined {
    return [...this.nodes.values()].find((n) => n.status().role === "leader");
  }

  until(cond: () => boolean, maxMs = 5_000): Promise<void> {
    return advanceUntil(cond, maxMs);
  }

  /** Settles `p` while simulated time runs; returns its value or throws its error. */
  settle<T>(p: Promise<T>, maxMs = 40_000): Promise<T> {
    return settleInSimulatedTime(p, maxMs);
  }

  /** Stops every node; under simulated time, advances it while a leader hands leadership over. */
  async stopAll(): Promise<void> {
    for (const n of this.nodes.values()) await (vi.isFakeTimers() ? this.settle(n.stop()) : n.stop());
  }
}

export { useSimulatedTime as useFakeTime } from "@raftkit/core/testing";

/** Polls `cond` on real timers until it holds; throws after `ms`. Never a fixed sleep. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
