import { crc32 } from "node:zlib";
import type { SeededRandom } from "@raftkit/core";
import type { SimulatedDisk } from "@raftkit/store-fs/testing";

/**
 * Media damage to a WAL, and what store-fs must do about it, read from the segment format
 * (store-fs `wal/frame.ts`) without store-fs's own code: `RKITWAL` segments of a 32-byte
 * header, then 8-aligned frames `type u8 (1) · 0 u8[3] · length u32 · crc u32 · 0 u32 ·
 * records · zero padding`, the CRC over (seq u64, offset u64), the first 8 header bytes and the
 * records.
 *
 * The rule checked (store-fs `replay.ts`, `tornWrite.ts`): a bit flipped in the durable bytes of
 * a complete frame makes the node refuse to start with CorruptWalError naming the segment.
 * Only a write torn by a crash may be cut, and a torn frame is short or has a 512-byte sector
 * still all zeros. NB: a last frame with a sector-sized share of its own that is all zeros,
 * damaged elsewhere, reads as torn (store-fs documents this blind spot, as etcd has it): the
 * fault never damages such a frame, so every flip it makes must be refused.
 */
export interface Damage {
  file: string;
  offset: number;
  bit: number;
  /** Where in the log: "frame k of n in segment s (the last)". */
  where: string;
}

const HEADER = 32;
const FRAME_HEADER = 16;
const SECTOR = 512;
const SEGMENT = /^(\d{20})-\d{20}\.wal$/;

interface Frame {
  at: number;
  /** End of the records (before padding). */
  end: number;
  next: number;
}

/** The sound frames from the start of a segment, up to the first that is not. */
export function framesOf(buf: Buffer, seq: number): Frame[] {
  const frames: Frame[] = [];
  for (let at = HEADER; ; ) {
    const f = frameAt(buf, at, seq);
    if (!f) return frames;
    frames.push(f);
    at = f.next;
  }
}

function frameAt(buf: Buffer, at: number, seq: number): Frame | null {
  if (at + FRAME_HEADER > buf.byteLength || buf[at] !== 1) return null;
  if (buf[at + 1] || buf[at + 2] || buf[at + 3] || buf.readUInt32LE(at + 12) !== 0) return null;
  const end = at + FRAME_HEADER + buf.readUInt32LE(at + 4);
  const next = end + ((8 - (end % 8)) % 8);
  if (next > buf.byteLength) return null;
  const salt = Buffer.alloc(16);
  salt.writeUInt32LE(seq >>> 0, 0);
  salt.writeUInt32LE(Math.floor(seq / 2 ** 32), 4);
  salt.writeUInt32LE(at % 2 ** 32, 8);
  salt.writeUInt32LE(Math.floor(at / 2 ** 32), 12);
  const crc = crc32(buf.subarray(at + FRAME_HEADER, end), crc32(buf.subarray(at, at + 8), crc32(salt)));
  if (crc !== buf.readUInt32LE(at + 8)) return null;
  for (let i = end; i < next; i++) if (buf[i] !== 0) return null;
  return { at, end, next };
}

/** The WAL segments in `dir`, oldest first, as a crash left them. */
function segments(disk: SimulatedDisk, dir: string): { file: string; seq: number; buf: Buffer }[] {
  return disk
    .listDurableFiles(dir)
    .map((file) => ({ file, m: SEGMENT.exec(file.slice(file.lastIndexOf("/") + 1)) }))
    .filter((s): s is { file: string; m: RegExpExecArray } => s.m !== null)
    .map(({ file, m }) => ({ file, seq: Number(m[1]), buf: Buffer.from(disk.readFile(file)) }))
    .sort((a, b) => a.seq - b.seq);
}

/** Whether some sector's share of `buf[from, to)` is all zeros (a torn write's mark). */
function zeroSector(buf: Buffer, from: number, to: number): boolean {
  for (let start = from; start < to; ) {
    const stop = Math.min(to, (Math.floor(start / SECTOR) + 1) * SECTOR);
    let zero = true;
    for (let i = start; i < stop && zero; i++) zero = buf[i] === 0;
    if (zero) return true;
    start = stop;
  }
  return false;
}

/**
 * Flips one bit, drawn from `rng`, in a complete frame of a WAL segment in `dir` of a node that
 * is down; half the time in the last frame of the log (what the old replay cut as torn).
 * Returns the damage, or null if there is no frame that can be damaged so that it must be refused.
 */
export function flipFrameBit(disk: SimulatedDisk, dir: string, rng: SeededRandom): Damage | null {
  const segs = segments(disk, dir).map((s) => ({ ...s, frames: framesOf(s.buf, s.seq) }));
  const all = segs.flatMap((s, k) =>
    s.frames.map((f, i) => ({ s, f, i, last: k === segs.length - 1 && i === s.frames.length - 1 })),
  );
  if (all.length === 0) return null;
  for (let attempt = 0; attempt < 20; attempt++) {
    const pick = rng.chance(0.5) ? all[all.length - 1]! : all[rng.int(all.length)]!;
    const offset = pick.f.at + rng.int(pick.f.next - pick.f.at);
    const bit = rng.int(8);
    if (pick.last) {
      // The blind spot: a last frame that would still hold a zero sector after the flip reads as torn.
      const after = Buffer.from(pick.s.buf);
      after[offset]! ^= 1 << bit;
      if (zeroSector(after, pick.f.at, pick.f.end)) continue;
    }
    disk.flipBit(pick.s.file, offset, bit);
    const after = pick.s.frames.at(-1)!.next;
    let junk = 0;
    for (let i = after; i < pick.s.buf.byteLength; i++) if (pick.s.buf[i] !== 0) junk = i + 1 - after;
    const where =
      `frame ${pick.i + 1} of ${pick.s.frames.length} in segment ${pick.s.seq} of ${segs.length}` +
      `${pick.last ? " (the log's last)" : ""}${junk > 0 ? `, before a torn frame of ${junk} bytes` : ""}`;
    return { file: pick.s.file, offset, bit, where };
  }
  return null;
}

/**
 * The acceptCorruptTail variant: replays as store-fs did before it told torn writes from damage,
 * cutting any bad last frame of the last segment (nothing sound after it) as if a crash tore it.
 * Returns the offset cut, or null.
 */
export function cutBadTailAsTorn(disk: SimulatedDisk, dir: string): number | null {
  const last = segments(disk, dir).at(-1);
  if (!last) return null;
  const frames = framesOf(last.buf, last.seq);
  const at = frames.at(-1)?.next ?? HEADER;
  let end = last.buf.byteLength;
  while (end > at && last.buf[end - 1] === 0) end--;
  if (end <= at || frames.length === 0) return null;
  for (let p = at + 8; p + FRAME_HEADER <= last.buf.byteLength; p += 8)
    if (frameAt(last.buf, p, last.seq)) return null;
  const cut = Buffer.from(last.buf);
  cut.fill(0, at, end);
  disk.writeFile(last.file, cut);
  return at;
}
