import type { Message, NodeId } from "./types.js";

/** A read request waiting for a quorum of heartbeat acks that confirm this node still leads. */
interface PendingRead {
  /** The original readIndex message (from this node or a follower). */
  req: Message;
  /** The commit index when the read arrived: the read may be served once this is applied. */
  index: number;
  acks: Set<NodeId>;
}

/** A byte string as a map key. */
export function contextKey(ctx: Uint8Array | null): string {
  if (ctx === null) return "";
  let s = "";
  for (const b of ctx) s += String.fromCharCode(b);
  return s;
}

/**
 * The leader's queue of "safe" linearizable reads (Raft thesis §6.4). Each read records the
 * commit index at its arrival and is released once a quorum acknowledged a heartbeat that
 * carried its context, proving no newer leader existed at the time the read arrived.
 * Reads are released in arrival order: an ack for one read confirms every earlier read too.
 */
export class ReadOnly {
  readonly #pending = new Map<string, PendingRead>();
  #queue: string[] = [];

  /** Queues a read that arrived when the commit index was `index`. A duplicate context is ignored. */
  addRequest(index: number, req: Message): void {
    const key = contextKey(req.context);
    if (this.#pending.has(key)) return;
    this.#pending.set(key, { req, index, acks: new Set() });
    this.#queue.push(key);
  }

  /** Records that `id` acknowledged the heartbeat carrying `ctx`; returns who has acked it so far, or null if unknown. */
  recvAck(id: NodeId, ctx: Uint8Array | null): ReadonlySet<NodeId> | null {
    const p = this.#pending.get(contextKey(ctx));
    if (!p) return null;
    p.acks.add(id);
    return p.acks;
  }

  /** Dequeues and returns the reads up to and including the one with `ctx` (all now confirmed). */
  advance(ctx: Uint8Array | null): { req: Message; index: number }[] {
    const key = contextKey(ctx);
    const at = this.#queue.indexOf(key);
    if (at < 0) return [];
    const done = this.#queue.slice(0, at + 1);
    this.#queue = this.#queue.slice(at + 1);
    return done.map((k) => {
      const p = this.#pending.get(k)!;
      this.#pending.delete(k);
      return { req: p.req, index: p.index };
    });
  }

  /** The context of the newest pending read, carried on heartbeats; null if none. */
  lastPendingRequestCtx(): Uint8Array | null {
    const key = this.#queue[this.#queue.length - 1];
    return key === undefined ? null : this.#pending.get(key)!.req.context;
  }

  get size(): number {
    return this.#queue.length;
  }

  /** Drops every pending read (this node stopped leading; callers retry). */
  clear(): void {
    this.#pending.clear();
    this.#queue = [];
  }
}
