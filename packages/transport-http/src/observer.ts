import type { NodeId } from "@raftkit/core";

/**
 * Hooks an {@link HttpTransport} calls for every request to and from a peer, to keep metrics
 * (round trips, bytes) without the transport knowing a metrics library. Called synchronously;
 * each must return quickly and must not throw.
 */
export interface TransportObserver {
  /**
   * A request to `peer` (a batch of messages or a snapshot) finished: `bytes` sent, `seconds`
   * from its start until the peer's answer (or the failure), `ok` when the peer accepted it.
   */
  sent?(peer: NodeId, bytes: number, seconds: number, ok: boolean): void;
  // Over a peer stream a batch gets no answer of its own: each batch reports its bytes with
  // `ok: false` (no round trip), and each PING answered by a PONG reports 0 bytes and its round
  // trip with `ok: true`.
  /** A request from `peer` of `bytes` was accepted. */
  received?(peer: NodeId, bytes: number): void;
}
