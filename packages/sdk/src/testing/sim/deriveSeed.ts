/**
 * Mixes a seed with small numbers into an independent 32-bit seed, so each part of a simulation
 * (network, faults, clients, …) draws from its own stream and adding draws to one leaves the
 * others unchanged. Uses MurmurHash3's finalizer: a bijection that mixes every bit into every other.
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = mix(seed >>> 0);
  for (const p of parts) h = mix((h + Math.imul(p + 1, 0x9e3779b9)) >>> 0);
  return h;
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
