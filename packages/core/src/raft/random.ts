/** A source of randomness the Raft core draws on; injected so that runs are reproducible. */
export interface Random {
  /** A whole number in [0, n). */
  int(n: number): number;
}

/**
 * A small, fast, seeded PRNG (mulberry32). Deterministic for a given seed: the same seed
 * replays the same sequence on every platform.
 */
export class SeededRandom implements Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

/**
 * Mixes a seed with small numbers into an independent 32-bit seed, so each part of a simulation
 * (a node, the network, faults, clients, …) draws from its own {@link SeededRandom} stream and
 * adding draws to one leaves the others unchanged.
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = fmix32(seed >>> 0);
  for (const p of parts) h = fmix32((h + Math.imul(p + 1, 0x9e3779b9)) >>> 0);
  return h;
}

/** MurmurHash3's finalizer: a bijection on 32-bit numbers that mixes every bit into every other. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
