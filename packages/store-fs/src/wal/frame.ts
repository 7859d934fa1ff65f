import { crc32 } from "node:zlib";
import { align8, readU64, writeU64 } from "../bytes.js";
import { recordsByteLength, type WalOp, writeRecords } from "./record.js";

/**
 * Segment file layout: a 32-byte header, then frames.
 *
 * Header: `magic "RKITWAL\0" · version u32 · crc u32 · seq u64 · firstIndex u64`.
 *
 * Frame: `type u8 · 0 u8[3] · length u32 · crc u32 · 0 u32`, then `length` bytes of records,
 * then zeros up to the next multiple of 8. Frames start 8-byte aligned, so a frame's length
 * field never straddles a sector and is never torn. Type 0 is invalid, so unwritten (zeroed)
 * space never reads as a frame.
 *
 * A frame holds everything made durable by one fdatasync (one group commit), so a crash can
 * tear at most the last frame, and a bad frame followed by a good one is damage, not a crash.
 * The CRC covers the segment's sequence number and the frame's own offset besides its bytes,
 * so a frame's bytes copied elsewhere (inside an entry's data, say) never read as a frame there.
 */
export const SEGMENT_HEADER = 32;
export const FRAME_HEADER = 16;
const FRAME_RECORDS = 1;
const MAGIC = Buffer.from("RKITWAL\0", "latin1");
const VERSION = 1;

export function encodeSegmentHeader(seq: number, firstIndex: number): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER);
  MAGIC.copy(b, 0);
  b.writeUInt32LE(VERSION, 8);
  writeU64(b, seq, 16);
  writeU64(b, firstIndex, 24);
  b.writeUInt32LE(crc32(b), 12);
  return b;
}

/** What is wrong with a segment's header, or null if it is sound and names segment `seq`. */
export function segmentHeaderProblem(buf: Buffer, seq: number): string | null {
  if (buf.byteLength < SEGMENT_HEADER) return "the file is shorter than a segment header";
  if (!buf.subarray(0, 8).equals(MAGIC)) return "not a raftkit WAL segment (bad magic)";
  if (buf.readUInt32LE(8) !== VERSION) return `unsupported segment version ${buf.readUInt32LE(8)}`;
  const h = Buffer.from(buf.subarray(0, SEGMENT_HEADER));
  h.writeUInt32LE(0, 12);
  if (crc32(h) !== buf.readUInt32LE(12)) return "segment header checksum mismatch";
  if (readU64(buf, 16) !== seq) return `the header says segment ${readU64(buf, 16)}, the file name ${seq}`;
  return null;
}

/** The bytes a frame holding `ops` takes. */
export function frameByteLength(ops: readonly WalOp[]): number {
  return align8(FRAME_HEADER + recordsByteLength(ops));
}

/**
 * Encodes `ops` as one frame, to be written at `position` in segment `seq`, into `bytes` (which
 * must be {@link frameByteLength} long). Returns, in order, the file offset of every entry record.
 */
export function encodeFrame(seq: number, position: number, ops: readonly WalOp[], bytes: Buffer): number[] {
  const entryOffsets: number[] = [];
  const end = writeRecords(bytes, FRAME_HEADER, ops, entryOffsets);
  bytes.fill(0, end);
  bytes.writeUInt32LE(FRAME_RECORDS, 0);
  bytes.writeUInt32LE(end - FRAME_HEADER, 4);
  bytes.writeUInt32LE(frameCrc(bytes, 0, end - FRAME_HEADER, seq, position), 8);
  bytes.writeUInt32LE(0, 12);
  for (let i = 0; i < entryOffsets.length; i++) entryOffsets[i] = position + entryOffsets[i]!;
  return entryOffsets;
}

const salt = Buffer.alloc(16);

function frameCrc(buf: Buffer, at: number, payload: number, seq: number, position: number): number {
  return frameCrcOf(buf.subarray(at, at + 8), buf, at, payload, seq, position);
}

/** The CRC of the frame at `at` in `buf` if its header's first 8 bytes were `head`. */
export function frameCrcOf(
  head: Buffer,
  buf: Buffer,
  at: number,
  payload: number,
  seq: number,
  position: number,
): number {
  writeU64(salt, seq, 0);
  writeU64(salt, position, 8);
  const h = crc32(head, crc32(salt));
  return crc32(buf.subarray(at + FRAME_HEADER, at + FRAME_HEADER + payload), h);
}

/**
 * Why a frame could not be read: `cut` the file ends inside its header; `zeros` its first 8
 * bytes are zero; `header` its header is not one a writer makes; `pastEnd` its length runs past
 * the end of the file; `checksum` its CRC does not match; `padding` the CRC matches but the
 * padding after it is not zero.
 */
export type FrameProblem = "cut" | "zeros" | "header" | "pastEnd" | "checksum" | "padding";

export type FrameRead =
  | { ok: true; recordsStart: number; recordsEnd: number; next: number }
  | { ok: false; kind: FrameProblem; problem: string };

/** Reads the frame at `at` in `buf`, which holds segment `seq` from its first byte. */
export function readFrame(buf: Buffer, at: number, seq: number): FrameRead {
  if (at + FRAME_HEADER > buf.byteLength)
    return { ok: false, kind: "cut", problem: "a frame header cut short" };
  const type = buf[at]!;
  if (type === 0 && buf.readUInt32LE(at + 4) === 0)
    return { ok: false, kind: "zeros", problem: "zeros where a frame should start" };
  if (
    type !== FRAME_RECORDS ||
    buf[at + 1] !== 0 ||
    buf.readUInt16LE(at + 2) !== 0 ||
    buf.readUInt32LE(at + 12) !== 0
  ) {
    return { ok: false, kind: "header", problem: "not a frame header" };
  }
  const payload = buf.readUInt32LE(at + 4);
  const next = align8(at + FRAME_HEADER + payload);
  if (next > buf.byteLength)
    return { ok: false, kind: "pastEnd", problem: "a frame that runs past the end of the file" };
  if (frameCrc(buf, at, payload, seq, at) !== buf.readUInt32LE(at + 8)) {
    return { ok: false, kind: "checksum", problem: "frame checksum mismatch" };
  }
  for (let i = at + FRAME_HEADER + payload; i < next; i++) {
    if (buf[i] !== 0) return { ok: false, kind: "padding", problem: "non-zero padding after a frame" };
  }
  return { ok: true, recordsStart: at + FRAME_HEADER, recordsEnd: at + FRAME_HEADER + payload, next };
}

/** Whether any valid frame starts at an 8-aligned offset in `buf` from `from` on. */
export function anyFrameFrom(buf: Buffer, from: number, seq: number): boolean {
  for (let at = align8(from); at + FRAME_HEADER <= buf.byteLength; at += 8) {
    if (buf[at] === FRAME_RECORDS && readFrame(buf, at, seq).ok) return true;
  }
  return false;
}

const ZEROS = Buffer.alloc(64 * 1024);

/** The offset just past the last non-zero byte of `buf` at or after `from`; `from` if there is none. */
export function nonZeroEnd(buf: Buffer, from: number): number {
  let end = buf.byteLength;
  while (end > from) {
    const start = Math.max(from, end - ZEROS.byteLength);
    if (buf.compare(ZEROS, 0, end - start, start, end) !== 0) {
      for (let i = end - 1; i >= start; i--) if (buf[i] !== 0) return i + 1;
    }
    end = start;
  }
  return from;
}
