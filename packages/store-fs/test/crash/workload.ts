import type { HardState, Storage, StorageBatch } from "@raftkit/core";
import { emptyConfState } from "@raftkit/core";

/**
 * One operation of the crash workload, as the child announces it before submitting it. Entry
 * and snapshot bytes are derived from the spec, so the parent can rebuild every byte.
 */
export type Spec =
  | {
      id: number;
      kind: "save";
      entries?: { from: number; count: number; term: number };
      hardState?: HardState;
      snapshot?: { index: number; term: number; voters: string[] };
    }
  | { id: number; kind: "compact"; index: number };

/** Deterministic payload bytes for entry `index` of `term` written by op `id`; now and then a few KiB. */
export function payload(index: number, term: number, id: number): Uint8Array {
  let h =
    Math.imul(index ^ 0x9e3779b9, 0x85ebca6b) ^
    Math.imul(term + 7, 0xc2b2ae35) ^
    Math.imul(id + 13, 0x27d4eb2f);
  h = (h ^ (h >>> 15)) >>> 0;
  const len = h % 20 === 0 ? 3000 + (h % 6000) : h % 200;
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    h = (Math.imul(h, 1103515245) + 12345) >>> 0;
    out[i] = h >>> 24;
  }
  return out;
}

export function toBatch(spec: Spec & { kind: "save" }): StorageBatch {
  const batch: StorageBatch = {};
  if (spec.entries) {
    const { from, count, term } = spec.entries;
    batch.entries = Array.from({ length: count }, (_, k) => ({
      index: from + k,
      term,
      type: (from + k) % 7 === 0 ? ("confChange" as const) : ("normal" as const),
      data: payload(from + k, term, spec.id),
    }));
  }
  if (spec.hardState) batch.hardState = spec.hardState;
  if (spec.snapshot) {
    const { index, term, voters } = spec.snapshot;
    batch.snapshot = {
      meta: { index, term, confState: { ...emptyConfState(), voters } },
      data: payload(index, term, spec.id),
    };
  }
  return batch;
}

/** A small seeded PRNG (mulberry32). */
export function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/**
 * Makes a stream of valid operations shaped like a Raft node's: appends, hard-state changes, a
 * new leader overwriting the uncommitted tail, local snapshots and compaction, and snapshots
 * from a leader that replace the log. It tracks the state every issued op leads to.
 */
export class Workload {
  readonly #rand: (n: number) => number;
  #id: number;
  #terms = new Map<number, number>();
  #last: number;
  #term: number;
  #commit: number;
  #snap: number;
  #compacted: number;

  constructor(seed: number, s: Storage, firstId: number) {
    this.#rand = rng(seed);
    this.#id = firstId;
    for (let i = s.firstIndex() - 1; i <= s.lastIndex(); i++) this.#terms.set(i, s.term(i));
    this.#last = s.lastIndex();
    const hs = s.initialState().hardState;
    this.#term = Math.max(hs.term, this.#terms.get(this.#last)!, 1);
    this.#commit = hs.commit;
    this.#snap = s.snapshot().meta.index;
    this.#compacted = s.firstIndex() - 1;
  }

  next(): Spec {
    const id = this.#id++;
    const r = this.#rand(100);
    const floor = Math.max(this.#commit, this.#snap, this.#compacted);
    if (r < 8 && this.#snap > this.#compacted) {
      const index = this.#compacted + 1 + this.#rand(this.#snap - this.#compacted);
      this.#compact(index);
      return { id, kind: "compact", index };
    }
    if (r < 16 && this.#commit > this.#snap && this.#commit > this.#compacted) {
      const index = this.#snap + 1 + this.#rand(this.#commit - this.#snap);
      this.#snap = index;
      return { id, kind: "save", snapshot: { index, term: this.#terms.get(index)!, voters: [`v${id % 5}`] } };
    }
    if (r < 19) {
      const index = this.#last + 1 + this.#rand(5);
      this.#terms = new Map([[index, this.#term]]);
      this.#last = this.#snap = this.#compacted = this.#commit = index;
      const hardState = { term: this.#term, vote: null, commit: index };
      return { id, kind: "save", snapshot: { index, term: this.#term, voters: ["a", "b"] }, hardState };
    }
    if (r < 27) {
      this.#term++;
      const from = floor + 1 + this.#rand(this.#last - floor + 1);
      const count = 1 + this.#rand(5);
      this.#append(from, count);
      return {
        id,
        kind: "save",
        entries: { from, count, term: this.#term },
        hardState: this.#hardState(null),
      };
    }
    if (r < 37) {
      this.#commit += this.#rand(this.#last - this.#commit + 1);
      return { id, kind: "save", hardState: this.#hardState(`n${id % 3}`) };
    }
    const from = this.#last + 1;
    const count = 1 + this.#rand(8);
    this.#append(from, count);
    if (this.#rand(2) === 0) return { id, kind: "save", entries: { from, count, term: this.#term } };
    this.#commit += this.#rand(this.#last - this.#commit + 1);
    return {
      id,
      kind: "save",
      entries: { from, count, term: this.#term },
      hardState: this.#hardState(`n${id % 3}`),
    };
  }

  #hardState(vote: string | null): HardState {
    return { term: this.#term, vote, commit: this.#commit };
  }

  #append(from: number, count: number): void {
    for (let i = from; i <= this.#last; i++) this.#terms.delete(i);
    for (let k = 0; k < count; k++) this.#terms.set(from + k, this.#term);
    this.#last = from + count - 1;
  }

  #compact(index: number): void {
    for (let i = this.#compacted; i < index; i++) this.#terms.delete(i);
    this.#compacted = index;
  }
}
