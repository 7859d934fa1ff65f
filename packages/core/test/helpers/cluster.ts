import {
  decodeConfChange,
  type Entry,
  type Message,
  MemoryStorage,
  type NodeId,
  type RaftConfig,
  RawNode,
  type ReadState,
  type Ready,
  SeededRandom,
} from "../../src/index.js";

export type NodeOptions = Partial<Omit<RaftConfig, "id" | "storage">>;

/** One node of a {@link TestCluster}: the RawNode, its "disk" and what it applied. */
export interface TestNode {
  id: NodeId;
  node: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  readStates: ReadState[];
}

/**
 * A synchronous in-memory cluster for unit tests, like etcd's `network` in raft_test.go:
 * `deliver()` processes every node's Ready and hands messages over until nothing moves.
 * Messages can be filtered (dropped) by a predicate to model partitions.
 */
export class TestCluster {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages that left a node and were not delivered yet. */
  inFlight: Message[] = [];
  /** Messages for which this returns true are dropped. */
  drop: (m: Message) => boolean = () => false;
  readonly options: NodeOptions;
  readonly ids: NodeId[];

  constructor(ids: NodeId[], options: NodeOptions = {}, seed = 1) {
    this.ids = ids;
    this.options = options;
    ids.forEach((id, i) => {
      const storage = new MemoryStorage();
      const node = this.#newNode(id, storage, seed + i);
      node.bootstrap(ids);
      this.nodes.set(id, { id, node, storage, applied: [], readStates: [] });
    });
    this.settle();
  }

  #newNode(id: NodeId, storage: MemoryStorage, seed: number, applied = 0): RawNode {
    return new RawNode({
      id,
      storage,
      electionTick: 10,
      heartbeatTick: 1,
      random: new SeededRandom(seed),
      applied,
      ...this.options,
    });
  }

  get(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  raft(id: NodeId) {
    return this.get(id).node.raft;
  }

  /** Carries out one Ready of `id`, if it has one, queueing its messages. */
  processReady(id: NodeId): Ready | null {
    const n = this.get(id);
    if (!n.node.hasReady()) return null;
    const rd = n.node.ready();
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    this.inFlight.push(...rd.messages);
    for (const e of rd.committedEntries) {
      if (e.type === "confChange") n.node.applyConfChange(decodeConfChange(e.data));
      n.applied.push(e);
    }
    n.readStates.push(...rd.readStates);
    n.node.advance(rd);
    return rd;
  }

  /** Processes Readies and delivers messages until the cluster is quiet. */
  settle(limit = 100_000): void {
    for (let i = 0; i < limit; i++) {
      let moved = false;
      for (const id of this.nodes.keys()) if (this.processReady(id)) moved = true;
      const batch = this.inFlight;
      this.inFlight = [];
      for (const m of batch) {
        moved = true;
        if (this.drop(m)) continue;
        const to = this.nodes.get(m.to);
        if (to) to.node.step(m);
      }
      if (!moved) return;
    }
    throw new Error("cluster did not settle");
  }

  /** Ticks every node `n` times, settling after each tick. */
  tick(n = 1, only: NodeId[] = this.ids): void {
    for (let i = 0; i < n; i++) {
      for (const id of only) this.get(id).node.tick();
      this.settle();
    }
  }

  campaign(id: NodeId): void {
    this.get(id).node.campaign();
    this.settle();
  }

  /** Drops every message to or from `id`. */
  isolate(id: NodeId): void {
    this.drop = (m) => m.from === id || m.to === id;
  }

  heal(): void {
    this.drop = () => false;
  }

  leader(): NodeId | null {
    const leaders = this.ids.filter((id) => this.raft(id).role === "leader");
    if (leaders.length === 0) return null;
    // With partitions several may believe they lead; the one with the highest term is current.
    return leaders.sort((a, b) => this.raft(b).term - this.raft(a).term)[0]!;
  }

  propose(id: NodeId, text: string): void {
    this.get(id).node.propose(new TextEncoder().encode(text));
    this.settle();
  }

  /** The application payloads each node applied, as text (leader no-ops and conf entries skipped). */
  appliedData(id: NodeId): string[] {
    return this.get(id)
      .applied.filter((e) => e.type === "normal" && e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }

  /** Crashes `id` and restarts it from its storage, losing everything not persisted. */
  restart(id: NodeId, seed = 99): void {
    const n = this.get(id);
    n.node = this.#newNode(id, n.storage, seed);
    n.applied = [];
    n.readStates = [];
    this.inFlight = this.inFlight.filter((m) => m.to !== id && m.from !== id);
  }
}
