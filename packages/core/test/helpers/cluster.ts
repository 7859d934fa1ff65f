import {
  type ConfState,
  decodeConfChange,
  type Entry,
  emptyConfState,
  MemoryStorage,
  type Message,
  type NodeId,
  type RaftConfig,
  RawNode,
  type ReadState,
  type Ready,
  SeededRandom,
} from "../../src/index.js";
import { deliver } from "./deliver.js";

const json = { enc: new TextEncoder(), dec: new TextDecoder() };

/** The state machine of a test node is its list of applied entries; this is its snapshot encoding. */
function encodeApplied(applied: Entry[]): Uint8Array {
  return json.enc.encode(
    JSON.stringify(applied.map((e) => ({ term: e.term, index: e.index, type: e.type, data: [...e.data] }))),
  );
}

function decodeApplied(data: Uint8Array): Entry[] {
  const raw = JSON.parse(json.dec.decode(data)) as {
    term: number;
    index: number;
    type: Entry["type"];
    data: number[];
  }[];
  return raw.map((e) => ({ ...e, data: Uint8Array.from(e.data) }));
}

export type NodeOptions = Partial<Omit<RaftConfig, "id" | "storage">>;

/** One node of a {@link TestCluster}: the RawNode, its "disk" and what it applied. */
export interface TestNode {
  id: NodeId;
  node: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  readStates: ReadState[];
  /** The membership as of the last applied configuration entry (what a snapshot must record). */
  confState: ConfState;
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
    this.ids = [...ids];
    this.options = options;
    ids.forEach((id, i) => {
      const storage = new MemoryStorage();
      const node = this.#newNode(id, storage, seed + i);
      node.bootstrap(ids);
      this.nodes.set(id, { id, node, storage, applied: [], readStates: [], confState: emptyConfState() });
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
    if (rd.snapshot) {
      n.storage.applySnapshot(rd.snapshot);
      n.applied = decodeApplied(rd.snapshot.data);
      n.confState = rd.snapshot.meta.confState;
    }
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    this.inFlight.push(...rd.messages);
    for (const e of rd.committedEntries) {
      if (e.type === "confChange") n.confState = n.node.applyConfChange(decodeConfChange(e.data));
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
      const delivered = deliver(batch, this.drop, (id, m) => this.nodes.get(id)?.node.step(m));
      if (!moved && !delivered) return;
    }
    throw new Error("cluster did not settle");
  }

  /** Delivers the messages in flight (those `drop` keeps), without processing any Ready. */
  deliverInFlight(): void {
    const batch = this.inFlight;
    this.inFlight = [];
    deliver(batch, this.drop, (id, m) => this.nodes.get(id)?.node.step(m));
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

  /**
   * Takes a snapshot of `id`'s applied state and compacts its log, keeping the last `keep`
   * entries before the snapshot for slow followers.
   */
  snapshotAndCompact(id: NodeId, keep = 0): void {
    const n = this.get(id);
    const index = n.node.status().applied;
    n.storage.createSnapshot(index, n.confState, encodeApplied(n.applied));
    if (index - keep > n.storage.firstIndex() - 1) n.storage.compact(index - keep);
  }

  /** Adds a node with empty storage that is not (yet) in the config; it waits to be contacted. */
  addEmptyNode(id: NodeId, seed = 77): TestNode {
    const storage = new MemoryStorage();
    const n: TestNode = {
      id,
      node: this.#newNode(id, storage, seed),
      storage,
      applied: [],
      readStates: [],
      confState: emptyConfState(),
    };
    this.nodes.set(id, n);
    this.ids.push(id);
    return n;
  }

  /** Crashes `id` and restarts it from its storage, losing everything not persisted. */
  restart(id: NodeId, seed = 99): void {
    const n = this.get(id);
    const snap = n.storage.snapshot();
    n.node = this.#newNode(id, n.storage, seed, snap.meta.index);
    n.applied = snap.meta.index > 0 ? decodeApplied(snap.data) : [];
    n.confState = snap.meta.confState;
    n.readStates = [];
    this.inFlight = this.inFlight.filter((m) => m.to !== id && m.from !== id);
  }
}
