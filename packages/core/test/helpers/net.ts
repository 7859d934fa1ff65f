/**
 * A synchronous in-memory cluster of {@link UnitNode}s, built from per-node specs so that
 * nodes can start with prepared logs and hard states (etcd's `newNetwork` over pre-loaded
 * storages). Like TestCluster, `settle()` processes Readies and delivers messages in rounds
 * until nothing moves; in addition every delivered message is kept in `trace`, and `drop`
 * may be changed between rounds to cut links or lose particular messages.
 */
import type { Message, NodeId } from "../../src/index.js";
import { deliver } from "./deliver.js";
import { type NodeSpec, UnitNode } from "./unit.js";

export class Net {
  readonly nodes = new Map<NodeId, UnitNode>();
  readonly ids: NodeId[];
  /** Messages produced but not yet delivered. */
  inFlight: Message[] = [];
  /** Messages for which this returns true are lost. */
  drop: (m: Message) => boolean = () => false;
  /** Every message delivered so far, in order. */
  trace: Message[] = [];

  /** `specs` maps each node id to its spec; `common` is merged under every spec. */
  constructor(specs: Record<NodeId, Partial<NodeSpec>>, common: Partial<NodeSpec> = {}) {
    this.ids = Object.keys(specs);
    this.ids.forEach((id, i) => {
      const spec: NodeSpec = { voters: this.ids, seed: i + 1, ...common, ...specs[id] };
      this.nodes.set(id, new UnitNode(id, spec));
    });
  }

  /** A cluster of fresh nodes (empty logs, term 0) whose voters are `ids`. */
  static of(ids: NodeId[], common: Partial<NodeSpec> = {}): Net {
    return new Net(Object.fromEntries(ids.map((id) => [id, {}])), common);
  }

  node(id: NodeId): UnitNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** One round: every node carries out its Ready, then the messages sent so far are delivered. Returns whether anything happened. */
  round(): boolean {
    let moved = false;
    for (const n of this.nodes.values()) {
      const msgs = n.persist();
      if (msgs.length > 0) moved = true;
      this.inFlight.push(...msgs);
    }
    const batch = this.inFlight;
    this.inFlight = [];
    const delivered = deliver(batch, this.drop, (id, m) => {
      const to = this.nodes.get(id);
      if (!to) return;
      this.trace.push(m);
      to.rn.step(m);
    });
    return moved || delivered;
  }

  settle(limit = 10_000): void {
    for (let i = 0; i < limit; i++) if (!this.round()) return;
    throw new Error("network did not settle");
  }

  /** Ticks the nodes (all by default) `n` times, settling after each tick. */
  tick(n = 1, only: NodeId[] = this.ids): void {
    for (let i = 0; i < n; i++) {
      for (const id of only) this.node(id).tick();
      this.settle();
    }
  }

  campaign(id: NodeId): void {
    this.node(id).rn.campaign();
    this.settle();
  }

  propose(id: NodeId, text: string): void {
    this.node(id).rn.propose(new TextEncoder().encode(text));
    this.settle();
  }

  /** Drops every message to or from any of `ids`. */
  isolate(...ids: NodeId[]): void {
    this.drop = (m) => ids.includes(m.from) || ids.includes(m.to);
  }

  /** Drops every message between the two groups (each side still talks within itself). */
  partition(a: NodeId[], b: NodeId[]): void {
    this.drop = (m) => (a.includes(m.from) && b.includes(m.to)) || (b.includes(m.from) && a.includes(m.to));
  }

  heal(): void {
    this.drop = () => false;
  }

  /** Nodes that currently believe they lead. */
  leaders(): NodeId[] {
    return this.ids.filter((id) => this.node(id).r.role === "leader");
  }

  /** The messages delivered to `to` of the given type since the trace was last cleared. */
  delivered(type: Message["type"], to?: NodeId): Message[] {
    return this.trace.filter((m) => m.type === type && (to === undefined || m.to === to));
  }
}
