import path from "node:path";
import { emptyConfState, type Logger, type Snapshot, type SnapshotMeta } from "@raftkit/core";
import { CorruptWalError } from "./errors.js";
import type { LogIndex } from "./logIndex.js";
import { parseSnapshotFileName, readSnapshotFile } from "./snapshot/snapshotFile.js";
import type { Vfs } from "./vfs.js";
import { type Replayed, replaySegments } from "./wal/replay.js";
import { parseSegmentFileName } from "./wal/segmentName.js";

/** What a directory holds, checked; `replayed` is null for a directory that holds no log yet. */
export interface Recovered {
  replayed: Replayed | null;
  /** The snapshot to serve: the log's latest, or an older sound one if that one is damaged. */
  snapshot: Snapshot;
}

/**
 * Reads a storage directory back: removes leftover temporary files, replays the segments and
 * picks the snapshot. Throws {@link CorruptWalError} if the directory cannot be trusted.
 */
export async function recover(dir: string, vfs: Vfs, logger: Logger): Promise<Recovered> {
  const names = await vfs.readdir(dir);
  for (const name of names.filter((n) => n.endsWith(".tmp"))) {
    logger.info(`store-fs ${dir}: removing ${name}, left by a write that a crash interrupted`);
    await vfs.unlink(path.join(dir, name));
  }
  const segments = names
    .flatMap((name) => {
      const s = parseSegmentFileName(name);
      return s ? [{ seq: s.seq, name }] : [];
    })
    .sort((a, b) => a.seq - b.seq);
  const snapshots = names
    .flatMap((name) => {
      const s = parseSnapshotFileName(name);
      return s ? [{ ...s, name }] : [];
    })
    .sort((a, b) => b.index - a.index || b.term - a.term);
  if (segments.length === 0) {
    if (snapshots.length > 0) {
      throw new CorruptWalError(dir, 0, "the directory holds snapshots but no log segments");
    }
    return { replayed: null, snapshot: emptySnapshot() };
  }
  const replayed = await replaySegments(dir, segments, vfs, logger);
  const want = replayed.snapshot;
  const usable: typeof snapshots = [];
  for (const s of snapshots) {
    if (s.index > want.index || (s.index === want.index && s.term !== want.term)) {
      logger.info(`store-fs ${dir}: removing ${s.name}, a snapshot whose save never completed`);
      await vfs.unlink(path.join(dir, s.name));
    } else {
      usable.push(s);
    }
  }
  return { replayed, snapshot: await pickSnapshot(dir, vfs, want, usable, replayed.log, logger) };
}

async function pickSnapshot(
  dir: string,
  vfs: Vfs,
  want: SnapshotMeta,
  files: readonly { index: number; term: number; name: string }[],
  log: LogIndex,
  logger: Logger,
): Promise<Snapshot> {
  if (want.index === 0) return emptySnapshot();
  const problems = files[0]?.index === want.index ? [] : [`the snapshot at index ${want.index} is missing`];
  for (const f of files) {
    const isWanted = f.index === want.index;
    // An older snapshot can stand in only if the log still holds everything after it.
    if (!isWanted && log.terms.term(f.index) !== f.term) continue;
    try {
      const snapshot = await readSnapshotFile(vfs, dir, f.name);
      if (!isWanted) {
        logger.warn(
          `store-fs ${dir}: using the older snapshot ${f.name} instead (${problems.join("; ")}); ` +
            "the log holds every entry after it",
        );
      }
      return snapshot;
    } catch (err) {
      const problem = `${f.name}: ${err instanceof Error ? err.message : String(err)}`;
      logger.warn(`store-fs ${dir}: snapshot ${problem}`);
      problems.push(problem);
    }
  }
  if (log.terms.compactedIndex === 0) {
    logger.warn(
      `store-fs ${dir}: no sound snapshot (${problems.join("; ")}); the log starts at 1, so none is needed`,
    );
    return emptySnapshot();
  }
  const file = path.join(dir, files[0]?.name ?? "");
  throw new CorruptWalError(
    file,
    0,
    `no sound snapshot covers the entries before ${log.firstIndex}, where the log starts (${problems.join("; ")})`,
  );
}

function emptySnapshot(): Snapshot {
  return { meta: { index: 0, term: 0, confState: emptyConfState() }, data: new Uint8Array() };
}
