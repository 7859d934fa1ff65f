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

export { deriveSeed } from "../../src/raft/random.js";
