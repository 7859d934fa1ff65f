import path from "node:path";
import { crc32 } from "node:zlib";
import type { Snapshot, SnapshotMeta } from "@raftkit/core";
import { readU64, writeU64 } from "../bytes.js";
import type { Vfs } from "../vfs.js";
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

/** A snapshot as a snapshot file's bytes (with its checksum): what backups hold too. */
export function encodeSnapshot(snapshot: Snapshot): Buffer {
  const meta = Buffer.from(JSON.stringify(snapshot.meta));
  const b = Buffer.allocUnsafe(HEADER + meta.byteLength + snapshot.data.byteLength);
  MAGIC.copy(b, 0);
  b.writeUInt32LE(VERSION, 8);
  b.writeUInt32LE(meta.byteLength, 16);
  b.writeUInt32LE(0, 20);
  writeU64(b, snapshot.data.byteLength, 24);
  meta.copy(b, HEADER);
  b.set(snapshot.data, HEADER + meta.byteLength);
  b.writeUInt32LE(crc32(b.subarray(16)), 12);
  return b;
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
 * either whole or absent. With `sync` false, nothing is fsynced.
 */
export async function writeSnapshotFile(
  vfs: Vfs,
  dir: string,
  snapshot: Snapshot,
  sync: boolean,
): Promise<string> {
  const name = snapshotFileName(snapshot.meta.index, snapshot.meta.term);
  const file = path.join(dir, name);
  const tmp = `${file}.tmp`;
  await vfs.unlink(tmp).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
  const handle = await vfs.open(tmp, "wx");
  try {
    await handle.write(encodeSnapshot(snapshot), 0);
    if (sync) await handle.datasync();
  } finally {
    await handle.close();
  }
  await vfs.rename(tmp, file);
  if (sync) await vfs.syncDir(dir);
  return name;
}
