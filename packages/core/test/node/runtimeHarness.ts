import {
  type Entry,
  MemoryNetwork,
  MemoryStorage,
  type NodeId,
  RaftNode,
  type RaftNodeOptions,
  SeededRandom,
  type Snapshot,
  type StateMachine,
  type StorageBatch,
} from "../../src/index.js";
import { advanceUntil, settleInSimulatedTime } from "../../src/testing/index.js";

/** A replicated counter: each entry's payload is a number to add; the result is the new total. */
export class CounterMachine implements StateMachine {
  total = 0;
  appliedIndexes: number[] = [];
  apply(entries: readonly Entry[]): unknown[] {
    return entries.map((e) => {
      this.appliedIndexes.push(e.index);
      this.total += Number(new TextDecoder().decode(e.data));
      return this.total;
    });
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ total: this.total }));
  }
  restore(data: Uint8Array): void {
    this.total = (JSON.parse(new TextDecoder().decode(data)) as { total: number }).total;
  }
}

/** MemoryStorage that counts durable writes (to observe batching) and records the snapshots prepared ahead of their save. */
export class CountingStorage extends MemoryStorage {
  saves = 0;
  readonly prepared: Snapshot[] = [];
  async prepareSnapshot(snapshot: Snapshot): Promise<void> {
    this.prepared.push(snapshot);
  }
  override async save(batch: StorageBatch): Promise<void> {
    this.saves++;
    // A real disk takes time; let other work queue up meanwhile.
    await new Promise((r) => setTimeout(r, 1));
    this.saveSync(batch);
  }
}

/** CountingStorage whose saves can be held back: while held, each save waits for {@link releaseOne}. */
export class GatedStorage extends CountingStorage {
  #holding = false;
  #held: (() => void)[] = [];
  /** Saves waiting at the gate. */
  get waiting(): number {
    return this.#held.length;
  }
  hold(): void {
    this.#holding = true;
  }
  /** Lets the oldest held save through; later saves are still held. */
  releaseOne(): void {
    this.#held.shift()?.();
  }
  releaseAll(): void {
    this.#holding = false;
    for (const go of this.#held.splice(0)) go();
  }
  override async save(batch: StorageBatch): Promise<void> {
    if (this.#holding) await new Promise<void>((r) => this.#held.push(r));
    await super.save(batch);
  }
}

export const encode = (n: number): Uint8Array => new TextEncoder().encode(String(n));

/** A cluster of RaftNodes on a MemoryNetwork, under vitest's fake timers (simulated time). */
export class RuntimeCluster {
  readonly net = new MemoryNetwork();
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly machines = new Map<NodeId, CounterMachine>();
  readonly storages = new Map<NodeId, CountingStorage>();
  readonly peers: Record<NodeId, string>;

  constructor(
    readonly ids: NodeId[],
    readonly options: Partial<RaftNodeOptions> = {},
  ) {
    this.peers = Object.fromEntries(ids.map((id) => [id, `mem://${id}`]));
  }

  #starts = 0;

  async start(id: NodeId, bootstrap = true): Promise<RaftNode> {
    const storage = this.storages.get(id) ?? new CountingStorage();
    this.storages.set(id, storage);
    const machine = new CounterMachine();
    this.machines.set(id, machine);
    // A bootstrapping node writes its initial configuration before start resolves: on a disk
    // that takes simulated time.
    const node = await this.settle(
      RaftNode.start({
        id,
        storage,
        transport: this.net.transport(id),
        stateMachine: machine,
        peers: this.peers,
        bootstrap,
        tickMs: 10,
        // Reproducible election timeouts (the runtime's default seed changes with every process).
        random: new SeededRandom(this.ids.indexOf(id) + 1 + this.#starts++ * 97),
        ...this.options,
      }),
    );
    this.nodes.set(id, node);
    return node;
  }

  async startAll(): Promise<void> {
    for (const id of this.ids) await this.start(id);
  }

  node(id: NodeId): RaftNode {
    return this.nodes.get(id)!;
  }

  leader(): RaftNode | null {
    for (const n of this.nodes.values()) if (n.status().role === "leader") return n;
    return null;
  }

  /** Advances simulated time until `cond` holds; throws after `maxMs`. */
  until(cond: () => boolean, maxMs = 5_000, what = "condition"): Promise<void> {
    return advanceUntil(cond, maxMs, what);
  }

  async waitForLeader(): Promise<RaftNode> {
    await this.until(() => this.leader() !== null, 5_000, "leader election");
    return this.leader()!;
  }

  /** Settles a promise while advancing simulated time. */
  settle<T>(p: Promise<T>, maxMs = 5_000): Promise<T> {
    return settleInSimulatedTime(p, maxMs);
  }

  async stopAll(): Promise<void> {
    // A leader hands leadership over before it stops, which takes (simulated) time.
    for (const n of this.nodes.values()) await this.settle(n.stop());
  }
}
