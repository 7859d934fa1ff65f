import type { Message, NodeId } from "./types.js";

/** A read request waiting for a quorum of heartbeat acks that confirm this node still leads. */
interface PendingRead {
  /** The original readIndex message (from this node or a follower). */
  req: Message;
  /** The commit index when the read arrived: the read may be served once this is applied. */
  index: number;
  /** The leader's own number for the read: heartbeats carry it, acks echo it. */
  seq: number;
  /** Requester and context: what makes the read a duplicate. */
  key: string;
  acks: Set<NodeId>;
}

/** A byte string as a map key. */
export function contextKey(ctx: Uint8Array | null): string {
  if (ctx === null) return "";
  let s = "";
  for (const b of ctx) s += String.fromCharCode(b);
  return s;
}

/** The heartbeat context that stands for the leader's read number `seq`. */
function seqContext(seq: number): Uint8Array {
  const ctx = new Uint8Array(8);
  new DataView(ctx.buffer).setFloat64(0, seq);
  return ctx;
}

function seqOf(ctx: Uint8Array | null): number | null {
  if (ctx === null || ctx.length !== 8) return null;
  return new DataView(ctx.buffer, ctx.byteOffset, 8).getFloat64(0);
}

/**
 * The leader's queue of "safe" linearizable reads (Raft thesis §6.4). Each read records the
 * commit index at its arrival and is released once a quorum acknowledged a heartbeat sent
 * after it arrived, proving no newer leader existed at the time the read arrived.
 *
 * Reads are keyed by requester and context, so equal contexts from different nodes never
 * merge. Heartbeats do not carry the requester's context but the leader's own number for the
 * read, taken from a counter that never repeats in this process: an ack can only confirm a read
 * whose heartbeat it answers, never a later read that happens to reuse a context.
 * Reads are released in arrival order: an ack for one read confirms every earlier read too.
 */
export class ReadOnly {
  /** Pending reads in arrival order (and so in increasing `seq`). */
  #queue: PendingRead[] = [];
  readonly #byRequest = new Set<string>();
  #seq = 0;

  /**
   * Queues a read from `requester` that arrived when the commit index was `index`, and returns
   * the context its heartbeats must carry. A duplicate (same requester, same context) is
   * ignored and returns null: the first copy's answer serves it.
   */
  addRequest(index: number, req: Message, requester: NodeId): Uint8Array | null {
    const key = requestKey(requester, req.context);
    if (this.#byRequest.has(key)) return null;
    this.#byRequest.add(key);
    const seq = ++this.#seq;
    this.#queue.push({ req, index, seq, key, acks: new Set() });
    return seqContext(seq);
  }

  /** Records that `id` acknowledged the heartbeat carrying `ctx`; returns who has acked it so far, or null if unknown. */
  recvAck(id: NodeId, ctx: Uint8Array | null): ReadonlySet<NodeId> | null {
    const p = this.#find(ctx);
    if (!p) return null;
    p.acks.add(id);
    return p.acks;
  }

  /** Dequeues and returns the reads up to and including the one whose heartbeats carry `ctx` (all now confirmed). */
  advance(ctx: Uint8Array | null): { req: Message; index: number }[] {
    const p = this.#find(ctx);
    if (!p) return [];
    const at = this.#queue.indexOf(p);
    const done = this.#queue.slice(0, at + 1);
    this.#queue = this.#queue.slice(at + 1);
    return done.map((d) => {
      this.#byRequest.delete(d.key);
      return { req: d.req, index: d.index };
    });
  }

  /** The heartbeat context of the newest pending read; null if none. */
  lastPendingRequestCtx(): Uint8Array | null {
    const last = this.#queue[this.#queue.length - 1];
    return last === undefined ? null : seqContext(last.seq);
  }

  get size(): number {
    return this.#queue.length;
  }

  /** Drops every pending read (this node stopped leading; callers retry). */
  clear(): void {
    this.#queue = [];
    this.#byRequest.clear();
  }

  #find(ctx: Uint8Array | null): PendingRead | undefined {
    const seq = seqOf(ctx);
    return seq === null ? undefined : this.#queue.find((p) => p.seq === seq);
  }
}

function requestKey(requester: NodeId, ctx: Uint8Array | null): string {
  return `${requester}\u0000${contextKey(ctx)}`;
}
