/** The randomness the simulation draws on; {@link SeededRandom} from the core satisfies it. */
export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** A whole number in [0, n). */
  int(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
}

/** A whole number in [lo, hi] (both inclusive). */
export function between(rng: Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

/** Mixes a seed with some small numbers into a new 32-bit seed (for independent PRNG streams). */
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
