import type { Message, NodeId } from "../raft/types.js";
import type { Transport, TransportHandler } from "./transport.js";

/**
 * An in-process network of {@link Transport}s, for tests and single-process clusters.
 * Messages are delivered asynchronously (a macrotask later), may be cut by a filter to model
 * partitions, and snapshot messages are reported delivered or not like a real transport's.
 */
export class MemoryNetwork {
  readonly #handlers = new Map<NodeId, TransportHandler>();
  /** Messages for which this returns true are dropped (and reported unreachable). */
  drop: (m: Message) => boolean = () => false;
  /** Messages delivered so far, by type, for tests. */
  readonly delivered = new Map<string, number>();

  transport(id: NodeId): Transport {
    let stopped = false;
    const peers = new Set<NodeId>();
    const network = this;
    return {
      async start(handler) {
        network.#handlers.set(id, handler);
      },
      send(messages) {
        if (stopped || messages.length === 0) return;
        const batch = messages.map((m) => structuredClone(m));
        setTimeout(() => {
          if (stopped) return;
          for (const m of batch) network.#deliver(id, m, peers);
        }, 0);
      },
      addPeer(peer) {
        peers.add(peer);
      },
      removePeer(peer) {
        peers.delete(peer);
      },
      async stop() {
        stopped = true;
        if (network.#handlers.get(id)) network.#handlers.delete(id);
      },
    };
  }

  #deliver(from: NodeId, m: Message, peers: ReadonlySet<NodeId>): void {
    const sender = this.#handlers.get(from);
    const target = this.#handlers.get(m.to);
    const ok = target !== undefined && peers.has(m.to) && !this.drop(m);
    if (m.type === "snapshot") sender?.reportSnapshot(m.to, ok);
    if (!ok) {
      sender?.reportUnreachable(m.to);
      return;
    }
    this.delivered.set(m.type, (this.delivered.get(m.type) ?? 0) + 1);
    target.receive([m]);
  }

  /** Cuts every message to or from `id`. */
  isolate(id: NodeId): void {
    this.drop = (m) => m.from === id || m.to === id;
  }

  heal(): void {
    this.drop = () => false;
  }
}
