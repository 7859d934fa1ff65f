/** Little-endian unsigned 64-bit fields holding safe integers (indexes, terms, sizes). */

const TWO_32 = 2 ** 32;

export function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32LE(value % TWO_32, at);
  buf.writeUInt32LE(Math.floor(value / TWO_32), at + 4);
}

/** Reads a u64; values beyond 2^53 come back inexact, which callers' checks then reject. */
export function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * TWO_32;
}

/** `n` rounded up to a multiple of 8 (arithmetic, not bit operations: sizes may pass 2^31). */
export function align8(n: number): number {
  return n + ((8 - (n % 8)) % 8);
}
