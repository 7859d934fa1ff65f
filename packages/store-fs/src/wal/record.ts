import { crc32 } from "node:zlib";
import type { Entry, EntryType, HardState, Snapshot, SnapshotMeta } from "@raftkit/core";
import { readU64, writeU64 } from "../bytes.js";

/**
 * The state a segment starts from, written as its first record: everything replay needs if the
 * segments before it have been deleted.
 */
export interface SegmentState {
  hardState: HardState;
  snapshot: SnapshotMeta;
  /** The last compacted entry (firstIndex - 1). */
  compacted: { index: number; term: number };
  /** The last entry in the log. */
  last: { index: number; term: number };
}

/**
 * One change to the stored state, in the order `save` applies them. Every decision is already
 * taken when an op is made (whether a snapshot drops the log, where a tail is cut), so replay
 * repeats them without consulting the log.
 */
export type WalOp =
  | { kind: "entries"; entries: readonly Entry[] }
  | { kind: "hardState"; hardState: HardState }
  /** The snapshot's data lives in its own file; the record holds the metadata and the decision. */
  | { kind: "snapshot"; snapshot: Snapshot; dropLog: boolean }
  /** Removes the entries after `after`: a leader overwrote this node's conflicting tail. */
  | { kind: "truncate"; after: number }
  | { kind: "compact"; index: number; term: number }
  | { kind: "state"; state: SegmentState };

/** A record as replay reads it. Entries come without their data, which stays on disk. */
export type DecodedRecord =
  | { kind: "entry"; index: number; term: number; offset: number; length: number }
  | { kind: "hardState"; hardState: HardState }
  | { kind: "snapshot"; meta: SnapshotMeta; dropLog: boolean }
  | { kind: "truncate"; after: number }
  | { kind: "compact"; index: number; term: number }
  | { kind: "state"; state: SegmentState };

const OP_ENTRY = 1;
const OP_HARD_STATE = 2;
const OP_SNAPSHOT = 3;
const OP_TRUNCATE = 4;
const OP_COMPACT = 5;
const OP_STATE = 6;

/**
 * An entry record: `op u8 · type u8 · 0 u16 · dataLen u32 · index u64 · term u64 · crc u32 · 0 u32`
 * then the data. The CRC covers the first 24 bytes and the data, so a read of one entry from
 * disk is checked on its own, long after the frame around it was.
 */
export const ENTRY_HEADER = 32;
const HARD_STATE_HEADER = 24;
const JSON_HEADER = 8;
const TRUNCATE_SIZE = 16;
const COMPACT_SIZE = 24;

/** A record could not be decoded; `offset` is where, in the buffer given. */
export class RecordError extends Error {
  readonly offset: number;
  constructor(offset: number, message: string) {
    super(message);
    this.offset = offset;
  }
}

const jsonCache = new WeakMap<WalOp, Buffer>();

function jsonBytes(op: WalOp & { kind: "snapshot" | "state" }): Buffer {
  let b = jsonCache.get(op);
  if (!b) {
    b = Buffer.from(JSON.stringify(op.kind === "snapshot" ? op.snapshot.meta : op.state));
    jsonCache.set(op, b);
  }
  return b;
}

/** The bytes `ops` take once encoded. */
export function recordsByteLength(ops: readonly WalOp[]): number {
  let n = 0;
  for (const op of ops) {
    switch (op.kind) {
      case "entries":
        for (const e of op.entries) n += ENTRY_HEADER + e.data.byteLength;
        break;
      case "hardState":
        n += HARD_STATE_HEADER + (op.hardState.vote === null ? 0 : Buffer.byteLength(op.hardState.vote));
        break;
      case "snapshot":
      case "state":
        n += JSON_HEADER + jsonBytes(op).byteLength;
        break;
      case "truncate":
        n += TRUNCATE_SIZE;
        break;
      case "compact":
        n += COMPACT_SIZE;
        break;
    }
  }
  return n;
}

/**
 * Encodes `ops` into `buf` at `at` (which must have {@link recordsByteLength} bytes free),
 * pushing each entry record's offset in `buf` onto `entryOffsets`. Returns the end offset.
 */
export function writeRecords(buf: Buffer, at: number, ops: readonly WalOp[], entryOffsets: number[]): number {
  for (const op of ops) {
    switch (op.kind) {
      case "entries":
        for (const e of op.entries) {
          entryOffsets.push(at);
          at = writeEntry(buf, at, e);
        }
        break;
      case "hardState": {
        const { term, vote, commit } = op.hardState;
        const voteLen = vote === null ? 0 : buf.write(vote, at + HARD_STATE_HEADER, "utf8");
        buf.writeUInt32LE(OP_HARD_STATE | ((vote === null ? 0 : 1) << 8), at);
        buf.writeUInt32LE(voteLen, at + 4);
        writeU64(buf, term, at + 8);
        writeU64(buf, commit, at + 16);
        at += HARD_STATE_HEADER + voteLen;
        break;
      }
      case "snapshot":
      case "state": {
        const json = jsonBytes(op);
        const flag = op.kind === "snapshot" && op.dropLog ? 1 : 0;
        buf.writeUInt32LE((op.kind === "snapshot" ? OP_SNAPSHOT : OP_STATE) | (flag << 8), at);
        buf.writeUInt32LE(json.byteLength, at + 4);
        json.copy(buf, at + JSON_HEADER);
        at += JSON_HEADER + json.byteLength;
        break;
      }
      case "truncate":
        buf.writeUInt32LE(OP_TRUNCATE, at);
        buf.writeUInt32LE(0, at + 4);
        writeU64(buf, op.after, at + 8);
        at += TRUNCATE_SIZE;
        break;
      case "compact":
        buf.writeUInt32LE(OP_COMPACT, at);
        buf.writeUInt32LE(0, at + 4);
        writeU64(buf, op.index, at + 8);
        writeU64(buf, op.term, at + 16);
        at += COMPACT_SIZE;
        break;
    }
  }
  return at;
}

/** An entry record's first 24 bytes, built here so that its CRC needs no view into the frame. */
const entryHead = Buffer.alloc(24);

function writeEntry(buf: Buffer, at: number, e: Entry): number {
  const len = e.data.byteLength;
  entryHead.writeUInt32LE(OP_ENTRY | ((e.type === "confChange" ? 2 : 1) << 8), 0);
  entryHead.writeUInt32LE(len, 4);
  writeU64(entryHead, e.index, 8);
  writeU64(entryHead, e.term, 16);
  buf.set(entryHead, at);
  buf.writeUInt32LE(crc32(e.data, crc32(entryHead)), at + 24);
  buf.writeUInt32LE(0, at + 28);
  buf.set(e.data, at + ENTRY_HEADER);
  return at + ENTRY_HEADER + len;
}

/**
 * Decodes one entry record held in `buf` (exactly its bytes), checking its CRC.
 * Throws {@link RecordError} if the bytes are not the entry record they should be.
 */
export function decodeEntry(buf: Buffer): Entry {
  if (buf.byteLength < ENTRY_HEADER || buf[0] !== OP_ENTRY) throw new RecordError(0, "not an entry record");
  const len = buf.readUInt32LE(4);
  if (ENTRY_HEADER + len !== buf.byteLength)
    throw new RecordError(4, "entry length does not match the index");
  const crc = crc32(buf.subarray(ENTRY_HEADER), crc32(buf.subarray(0, 24)));
  if (crc !== buf.readUInt32LE(24)) throw new RecordError(24, "entry checksum mismatch");
  const type = entryType(buf[1]!);
  if (type === null) throw new RecordError(1, `unknown entry type ${buf[1]}`);
  const data = new Uint8Array(buf.buffer, buf.byteOffset + ENTRY_HEADER, len);
  return { term: readU64(buf, 16), index: readU64(buf, 8), type, data };
}

function entryType(b: number): EntryType | null {
  return b === 1 ? "normal" : b === 2 ? "confChange" : null;
}

/** Decodes the records in `buf[start, end)`; entry offsets are reported as `base + offset in buf`. */
export function* readRecords(
  buf: Buffer,
  start: number,
  end: number,
  base: number,
): Generator<DecodedRecord> {
  let at = start;
  const need = (n: number): void => {
    if (at + n > end) throw new RecordError(at, "record runs past the end of its frame");
  };
  while (at < end) {
    need(8);
    const op = buf[at]!;
    const flag = buf[at + 1]!;
    const len = buf.readUInt32LE(at + 4);
    switch (op) {
      case OP_ENTRY: {
        need(ENTRY_HEADER + len);
        if (entryType(flag) === null) throw new RecordError(at, `unknown entry type ${flag}`);
        const r = { index: readU64(buf, at + 8), term: readU64(buf, at + 16) };
        yield { kind: "entry", ...r, offset: base + at, length: ENTRY_HEADER + len };
        at += ENTRY_HEADER + len;
        break;
      }
      case OP_HARD_STATE: {
        need(HARD_STATE_HEADER + len);
        const vote =
          flag === 1 ? buf.toString("utf8", at + HARD_STATE_HEADER, at + HARD_STATE_HEADER + len) : null;
        yield {
          kind: "hardState",
          hardState: { term: readU64(buf, at + 8), vote, commit: readU64(buf, at + 16) },
        };
        at += HARD_STATE_HEADER + len;
        break;
      }
      case OP_SNAPSHOT:
      case OP_STATE: {
        need(JSON_HEADER + len);
        let value: unknown;
        try {
          value = JSON.parse(buf.toString("utf8", at + JSON_HEADER, at + JSON_HEADER + len));
        } catch {
          throw new RecordError(at, "unreadable metadata record");
        }
        yield op === OP_SNAPSHOT
          ? { kind: "snapshot", meta: value as SnapshotMeta, dropLog: flag === 1 }
          : { kind: "state", state: value as SegmentState };
        at += JSON_HEADER + len;
        break;
      }
      case OP_TRUNCATE:
        need(TRUNCATE_SIZE);
        yield { kind: "truncate", after: readU64(buf, at + 8) };
        at += TRUNCATE_SIZE;
        break;
      case OP_COMPACT:
        need(COMPACT_SIZE);
        yield { kind: "compact", index: readU64(buf, at + 8), term: readU64(buf, at + 16) };
        at += COMPACT_SIZE;
        break;
      default:
        throw new RecordError(at, `unknown record type ${op}`);
    }
  }
}
