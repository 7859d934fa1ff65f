import path from "node:path";
import { crc32 } from "node:zlib";
import type { Snapshot, SnapshotMeta } from "@raftkit/core";
import { readU64, writeU64 } from "../bytes.js";
import type { Vfs, VfsFile } from "../vfs.js";
import { pad } from "../wal/segmentName.js";

/**
 * A snapshot file, `<index>-<term>.snap` (zero-padded to 20 digits):
 * `magic "RKITSNAP" · version u32 · crc u32 · metaLen u32 · 0 u32 · dataLen u64`, then the
 * metadata as JSON, then the data. The CRC covers everything after itself.
 */
const MAGIC = Buffer.from("RKITSNAP", "latin1");
const VERSION = 1;
const HEADER = 32;
const PATTERN = /^(\d{20})-(\d{20})\.snap$/;

export function snapshotFileName(index: number, term: number): string {
  return `${pad(index)}-${pad(term)}.snap`;
}

/** The index and term a file name denotes, or null if it is not a snapshot's name. */
export function parseSnapshotFileName(name: string): { index: number; term: number } | null {
  const m = PATTERN.exec(name);
  return m ? { index: Number(m[1]), term: Number(m[2]) } : null;
}

/** The header and metadata of a snapshot file; the CRC field is left 0 for the caller. */
function snapshotHead(snapshot: Snapshot): Buffer {
  const meta = Buffer.from(JSON.stringify(snapshot.meta));
  const head = Buffer.alloc(HEADER + meta.byteLength);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(VERSION, 8);
  head.writeUInt32LE(meta.byteLength, 16);
  writeU64(head, snapshot.data.byteLength, 24);
  meta.copy(head, HEADER);
  return head;
}

/** A snapshot as a snapshot file's bytes (with its checksum): what backups hold too. */
export function encodeSnapshot(snapshot: Snapshot): Buffer {
  const head = snapshotHead(snapshot);
  const b = Buffer.allocUnsafe(head.byteLength + snapshot.data.byteLength);
  head.copy(b, 0);
  b.set(snapshot.data, head.byteLength);
  b.writeUInt32LE(crc32(b.subarray(16)), 12);
  return b;
}

/** Pieces of a snapshot's data checksummed and written between two turns of the event loop. */
const PIECE_BYTES = 1024 * 1024;

/**
 * Writes a snapshot file's bytes (those {@link encodeSnapshot} gives) to `file` without copying
 * the data and without holding the event loop for the whole of it: the CRC is computed a piece
 * at a time with `yieldNow` between pieces, then the header and the pieces are written.
 */
async function writeSnapshotBytes(
  file: VfsFile,
  snapshot: Snapshot,
  yieldNow: () => Promise<void>,
): Promise<void> {
  const head = snapshotHead(snapshot);
  const data = snapshot.data;
  let crc = crc32(head.subarray(16));
  for (let off = 0; off < data.byteLength; off += PIECE_BYTES) {
    crc = crc32(data.subarray(off, off + PIECE_BYTES), crc);
    if (off + PIECE_BYTES < data.byteLength) await yieldNow();
  }
  head.writeUInt32LE(crc, 12);
  await file.write(head, 0);
  for (let off = 0; off < data.byteLength; off += PIECE_BYTES)
    await file.write(data.subarray(off, off + PIECE_BYTES), head.byteLength + off);
}

/**
 * Decodes a snapshot file's bytes; throws an Error saying what is wrong if they are not sound
 * (or, given `expect`, if they hold another snapshot than the file's name says).
 */
export function decodeSnapshot(b: Buffer, expect?: { index: number; term: number }): Snapshot {
  if (b.byteLength < HEADER || !b.subarray(0, 8).equals(MAGIC))
    throw new Error("not a raftkit snapshot file");
  if (b.readUInt32LE(8) !== VERSION) throw new Error(`unsupported snapshot version ${b.readUInt32LE(8)}`);
  const metaLen = b.readUInt32LE(16);
  const dataLen = readU64(b, 24);
  if (HEADER + metaLen + dataLen !== b.byteLength)
    throw new Error("the file's length does not match its header");
  if (crc32(b.subarray(16)) !== b.readUInt32LE(12)) throw new Error("checksum mismatch");
  const meta = JSON.parse(b.toString("utf8", HEADER, HEADER + metaLen)) as SnapshotMeta;
  if (expect && (meta.index !== expect.index || meta.term !== expect.term)) {
    throw new Error(`holds the snapshot at index ${meta.index} term ${meta.term}, not the one its name says`);
  }
  const data = new Uint8Array(b.buffer, b.byteOffset + HEADER + metaLen, dataLen);
  return { meta, data };
}

/** Reads and checks the snapshot file `name` in `dir`. */
export async function readSnapshotFile(vfs: Vfs, dir: string, name: string): Promise<Snapshot> {
  const expect = parseSnapshotFileName(name);
  if (!expect) throw new Error(`${name} is not a snapshot file name`);
  return decodeSnapshot(await vfs.readFile(path.join(dir, name)), expect);
}

/**
 * Writes a snapshot durably: to a temporary file, fsynced, renamed into place, then the
 * directory fsynced (the step `write-file-atomic` leaves out), so after a crash the file is
 * either whole or absent. With `sync` false, nothing is fsynced. `yieldNow` lets the event loop
 * run between the pieces of a large one.
 */
export async function writeSnapshotFile(
  vfs: Vfs,
  dir: string,
  snapshot: Snapshot,
  sync: boolean,
  yieldNow: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
): Promise<string> {
  const name = snapshotFileName(snapshot.meta.index, snapshot.meta.term);
  const file = path.join(dir, name);
  const tmp = `${file}.tmp`;
  await vfs.unlink(tmp).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
  const handle = await vfs.open(tmp, "wx");
  try {
    await writeSnapshotBytes(handle, snapshot, yieldNow);
    if (sync) await handle.datasync();
  } finally {
    await handle.close();
  }
  await vfs.rename(tmp, file);
  if (sync) await vfs.syncDir(dir);
  return name;
}
