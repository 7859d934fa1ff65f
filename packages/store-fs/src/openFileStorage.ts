import path from "node:path";
import type { HardState, SnapshotMeta } from "@raftkit/core";
import { FileStorage, segmentState } from "./fileStorage.js";
import { lockDir } from "./lock.js";
import { LogIndex } from "./logIndex.js";
import { type FileStorageOptions, resolveOptions } from "./options.js";
import { recover } from "./recovery.js";
import type { Vfs } from "./vfs.js";
import { SegmentReader } from "./wal/reader.js";
import { WalWriter } from "./wal/writer.js";

/**
 * Opens (creating it if needed) the storage in `dir`, recovering what a previous process left:
 * a write torn by a crash at the end of the log is cut off and logged, anything else damaged
 * throws {@link CorruptWalError}. Throws {@link StorageLockedError} if another FileStorage holds
 * the directory. The caller must {@link FileStorage.close} it.
 */
export async function openFileStorage(dir: string, options: FileStorageOptions = {}): Promise<FileStorage> {
  const opts = resolveOptions(options);
  await makeDir(dir, opts.vfs);
  const lock = await lockDir(dir, opts.vfs, opts.logger);
  try {
    const { replayed, snapshot } = await recover(dir, opts.vfs, opts.logger);
    const reader = new SegmentReader(opts.vfs);
    const writerOptions = {
      dir,
      vfs: opts.vfs,
      segmentBytes: opts.segmentBytes,
      sync: opts.sync,
      logger: opts.logger,
      onSegment: (s: { seq: number; path: string }) => reader.add(s.seq, s.path),
    };
    let wal: WalWriter;
    let log: LogIndex;
    let hardState: HardState = { term: 0, vote: null, commit: 0 };
    let walSnapshot: SnapshotMeta = snapshot.meta;
    if (replayed) {
      for (const s of replayed.segments) reader.add(s.seq, s.path);
      wal = await WalWriter.resume(writerOptions, replayed.segments, replayed.tail);
      ({ log, hardState, snapshot: walSnapshot } = replayed);
    } else {
      log = new LogIndex();
      wal = await WalWriter.create(writerOptions, segmentState(log, hardState, walSnapshot));
    }
    return new FileStorage({ dir, opts, lock, reader, wal, log, hardState, snapshot, walSnapshot });
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** Creates `dir` if missing and makes the new directory entries durable. */
async function makeDir(dir: string, vfs: Vfs): Promise<void> {
  const created = await vfs.mkdir(dir);
  if (created === undefined) return;
  await vfs.syncDir(path.dirname(created));
  if (path.resolve(created) !== path.resolve(dir)) await vfs.syncDir(path.dirname(path.resolve(dir)));
}
