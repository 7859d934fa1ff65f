import type { Message, NodeId } from "../raft/types.js";

/** What a {@link Transport} hands back to the node that runs it. */
export interface TransportHandler {
  /** Messages that arrived from peers, to be stepped into Raft in order. */
  receive(messages: Message[]): void;
  /** Messages to `id` were dropped (peer down, queue full): Raft will probe it again. */
  reportUnreachable(id: NodeId): void;
  /** The outcome of sending a snapshot message to `id`. */
  reportSnapshot(id: NodeId, ok: boolean): void;
  /**
   * Optional to call: a connection to `id` was refused (ECONNREFUSED), so no process listens at
   * its address. Report only that: a timeout or a reset is no proof (a slow or cut-off peer
   * causes them too). A follower whose leader is gone then campaigns without waiting out the
   * election timeout.
   */
  reportGone?(id: NodeId): void;
  /**
   * Optional to call: a connection to `id` was just opened (or reopened): it is up, perhaps
   * restarted. A leader then heartbeats it at once, and a node without a leader campaigns.
   */
  reportReachable?(id: NodeId): void;
}

/**
 * Carries Raft messages between nodes. Implementations must never block the caller and never
 * grow memory without bound: when a peer is slow or down they drop messages and report it.
 * Delivery may lose, duplicate or reorder messages; Raft tolerates all three.
 */
export interface Transport {
  /** Starts delivering incoming messages to `handler`. Called once, before any send. */
  start(handler: TransportHandler): Promise<void>;
  /** Queues messages for their `to` peers and returns at once. Snapshot messages are streamed and their outcome reported. */
  send(messages: readonly Message[]): void;
  /**
   * Optional: writes out at once what `send` queued, rather than when the current turn of the
   * event loop ends. The runtime calls it when messages must leave before slower work of the
   * same turn (a leader's appends before its own disk write).
   */
  flush?(): void;
  /** Makes `id` reachable at `address` (e.g. "http://10.0.0.2:7000"); replaces an earlier address. */
  addPeer(id: NodeId, address: string): void;
  removePeer(id: NodeId): void;
  /** Stops sending and receiving; drops whatever is queued. */
  stop(): Promise<void>;
}
