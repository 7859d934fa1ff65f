import type { Operation } from "../../src/history/index.js";
import type { Rng } from "./rng.js";

/** What a client wants to do next, before it is sent to a node. */
export type ClientRequest =
  | { kind: "get"; key: string }
  | { kind: "put"; key: string; value: number }
  | { kind: "cas"; key: string; expected: number | null; value: number };

/** A client operation sent to a node and not answered yet. */
export interface PendingOp {
  client: number;
  seq: number;
  request: ClientRequest;
  /** The node the client talked to, and which life of it (a restart is a new incarnation). */
  node: string;
  incarnation: number;
  /** The history record, completed in place when the answer comes. */
  record: Operation;
  /** For a get: the read index from its ReadState, once that arrived. */
  readIndex: number | null;
}

/** Counters of what the clients did. */
export interface ClientStats {
  issued: number;
  /** Proposals or reads the node refused outright (nothing happened; not recorded). */
  refused: number;
  writesAcked: number;
  readsServed: number;
  casOk: number;
  unknown: number;
}

/**
 * The simulated clients' bookkeeping: which operation each client has outstanding (at most one:
 * clients are sequential, as linearizability assumes), the history of calls and returns, and the
 * choice of each next operation. It does not talk to nodes; the simulation does that and reports
 * back through {@link complete}, {@link giveUp} and {@link refused}.
 *
 * Times in the history are simulated microseconds, made strictly increasing, so that the order of
 * calls and returns within one simulated millisecond is kept exactly.
 */
export class Clients {
  readonly count: number;
  readonly keys: readonly string[];
  readonly history: Operation[] = [];
  readonly stats: ClientStats = {
    issued: 0,
    refused: 0,
    writesAcked: 0,
    readsServed: 0,
    casOk: 0,
    unknown: 0,
  };
  readonly #rng: Rng;
  readonly #pending = new Map<number, PendingOp>();
  readonly #seqs: number[];
  /** Per client, per key: the value it last saw (a cas usually expects it). */
  readonly #seen: Array<Map<string, number | null>>;
  readonly #written: number[] = [];
  #nextValue = 1;
  #lastStamp = -1;

  constructor(count: number, keys: readonly string[], rng: Rng) {
    this.count = count;
    this.keys = keys;
    this.#rng = rng;
    this.#seqs = new Array<number>(count).fill(0);
    this.#seen = Array.from({ length: count }, () => new Map<string, number | null>());
  }

  /** A strictly increasing history time for an event at simulated ms `now`. */
  stamp(now: number): number {
    this.#lastStamp = Math.max(this.#lastStamp + 1, now * 1000);
    return this.#lastStamp;
  }

  /** The operation client `c` has outstanding, if any. */
  pending(c: number): PendingOp | undefined {
    return this.#pending.get(c);
  }

  /** All outstanding operations, in client order. */
  allPending(): PendingOp[] {
    return [...this.#pending.values()];
  }

  /** Draws client `c`'s next request: gets, puts of fresh values, and cas on the value it last saw. */
  nextRequest(c: number): ClientRequest {
    const rng = this.#rng;
    const key = rng.pick(this.keys);
    const r = rng.next();
    if (r < 0.4) return { kind: "get", key };
    const value = this.#nextValue++;
    if (r < 0.7) return { kind: "put", key, value };
    const seen = this.#seen[c]!;
    let expected: number | null;
    if (seen.has(key) && rng.chance(0.7)) expected = seen.get(key) ?? null;
    else if (this.#written.length > 0 && rng.chance(0.7)) expected = rng.pick(this.#written.slice(-8));
    else expected = null;
    return { kind: "cas", key, expected, value };
  }

  /** Starts client `c`'s request on `node`: records its call and returns its sequence number. */
  begin(c: number, request: ClientRequest, node: string, incarnation: number, now: number): PendingOp {
    if (this.#pending.has(c)) throw new Error(`client ${c} already has an operation outstanding`);
    const seq = ++this.#seqs[c]!;
    const call = this.stamp(now);
    let record: Operation;
    switch (request.kind) {
      case "get":
        record = { client: c, op: "get", key: request.key, call };
        break;
      case "put":
        record = { client: c, op: "put", key: request.key, value: request.value, call };
        this.#written.push(request.value);
        break;
      case "cas":
        record = {
          client: c,
          op: "cas",
          key: request.key,
          expected: request.expected,
          value: request.value,
          call,
        };
        this.#written.push(request.value);
        break;
    }
    const op: PendingOp = { client: c, seq, request, node, incarnation, record, readIndex: null };
    this.#pending.set(c, op);
    this.history.push(record);
    this.stats.issued++;
    return op;
  }

  /**
   * The node refused the request outright (a dropped proposal or read): it definitely did not
   * happen, so it is taken out of the history again.
   */
  refused(op: PendingOp): void {
    if (this.#pending.get(op.client) !== op) return;
    this.#pending.delete(op.client);
    const i = this.history.lastIndexOf(op.record);
    if (i >= 0) this.history.splice(i, 1);
    this.stats.refused++;
    this.stats.issued--;
  }

  /**
   * The operation's answer arrived: for a write, `ok` (cas matched; true for put); for a get, the
   * value read. Returns false (and does nothing) if the operation is no longer outstanding.
   */
  complete(op: PendingOp, now: number, answer: { ok: boolean } | { output: number | null }): boolean {
    if (this.#pending.get(op.client) !== op) return false;
    this.#pending.delete(op.client);
    const rec = op.record;
    rec.return = this.stamp(now);
    const seen = this.#seen[op.client]!;
    if (rec.op === "get" && "output" in answer) {
      rec.output = answer.output;
      seen.set(rec.key, answer.output);
      this.stats.readsServed++;
    } else if (rec.op === "cas" && "ok" in answer) {
      rec.ok = answer.ok;
      if (answer.ok) {
        this.stats.casOk++;
        seen.set(rec.key, rec.value);
      }
      this.stats.writesAcked++;
    } else if (rec.op === "put") {
      seen.set(rec.key, rec.value);
      this.stats.writesAcked++;
    } else {
      throw new Error(`answer ${JSON.stringify(answer)} does not fit a ${rec.op}`);
    }
    return true;
  }

  /** No answer will come (timeout, or the node crashed): the outcome is unknown. */
  giveUp(op: PendingOp): boolean {
    if (this.#pending.get(op.client) !== op) return false;
    this.#pending.delete(op.client);
    op.record.unknown = true;
    this.stats.unknown++;
    return true;
  }

  /** The outstanding write of `client` with sequence number `seq`, if it was sent to `node`. */
  pendingWrite(client: number, seq: number, node: string, incarnation: number): PendingOp | undefined {
    const op = this.#pending.get(client);
    if (!op || op.seq !== seq || op.node !== node || op.incarnation !== incarnation) return undefined;
    return op.request.kind === "get" ? undefined : op;
  }

  /** Outstanding gets on `node` (this incarnation). */
  pendingReads(node: string, incarnation: number): PendingOp[] {
    const out: PendingOp[] = [];
    for (const op of this.#pending.values()) {
      if (op.request.kind === "get" && op.node === node && op.incarnation === incarnation) out.push(op);
    }
    return out;
  }

  /** Outstanding operations sent to `node` (any incarnation). */
  pendingOn(node: string): PendingOp[] {
    return [...this.#pending.values()].filter((op) => op.node === node);
  }
}
