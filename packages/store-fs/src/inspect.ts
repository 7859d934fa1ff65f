import path from "node:path";
import type { ConfState, HardState, Logger } from "@raftkit/core";
import { CorruptWalError } from "./errors.js";
import { nodeVfs } from "./nodeVfs.js";
import { recover } from "./recovery.js";
import { parseSnapshotFileName } from "./snapshot/snapshotFile.js";
import type { Vfs, VfsFile } from "./vfs.js";
import { parseSegmentFileName } from "./wal/segmentName.js";

/** A damaged spot found by {@link inspectStorage}. */
export interface StorageProblem {
  file: string;
  offset: number;
  message: string;
}

/** What a stopped node's storage directory holds, as {@link inspectStorage} read it. */
export interface StorageInspection {
  dir: string;
  /** False when something is damaged beyond what a restart repairs (see `problems`). */
  ok: boolean;
  /** No segment files: the directory was never used (or holds no log). */
  empty: boolean;
  firstIndex: number;
  lastIndex: number;
  lastTerm: number;
  hardState: HardState;
  snapshot: { index: number; term: number; membership: ConfState } | null;
  segments: { name: string; bytes: number }[];
  snapshotFiles: { name: string; bytes: number }[];
  /**
   * What opening the directory would change, which a read-only check leaves alone: a torn
   * write cut at the tail, temporary files removed, an unfinished snapshot removed.
   */
  repairs: string[];
  problems: StorageProblem[];
}

/**
 * Reads a storage directory without changing it and without taking its lock, and reports its
 * log, hard state, snapshot and files, and anything damaged with the file and byte offset.
 * The node must be stopped: a running node's files change under the check.
 */
export async function inspectStorage(dir: string, vfs: Vfs = nodeVfs): Promise<StorageInspection> {
  const repairs: string[] = [];
  const logger: Logger = {
    debug: () => {},
    info: (m) => repairs.push(m),
    warn: (m) => repairs.push(m),
    error: (m) => repairs.push(m),
  };
  const names = (await vfs.readdir(dir)).sort();
  const sizes = async (keep: (n: string) => boolean) =>
    Promise.all(
      names.filter(keep).map(async (name) => ({
        name,
        bytes: (await vfs.readFile(path.join(dir, name))).byteLength,
      })),
    );
  const report: StorageInspection = {
    dir,
    ok: true,
    empty: false,
    firstIndex: 0,
    lastIndex: 0,
    lastTerm: 0,
    hardState: { term: 0, vote: null, commit: 0 },
    snapshot: null,
    segments: await sizes((n) => parseSegmentFileName(n) !== null),
    snapshotFiles: await sizes((n) => parseSnapshotFileName(n) !== null),
    repairs,
    problems: [],
  };
  report.empty = report.segments.length === 0;
  try {
    const { replayed, snapshot } = await recover(dir, readOnlyVfs(vfs, repairs), logger);
    if (replayed) {
      report.firstIndex = replayed.log.firstIndex;
      report.lastIndex = replayed.log.lastIndex;
      report.lastTerm = replayed.log.terms.term(replayed.log.lastIndex) ?? 0;
      report.hardState = replayed.hardState;
    }
    if (snapshot.meta.index > 0) {
      report.snapshot = {
        index: snapshot.meta.index,
        term: snapshot.meta.term,
        membership: snapshot.meta.confState,
      };
    }
    if (report.hardState.commit > report.lastIndex) {
      report.problems.push({
        file: dir,
        offset: 0,
        message: `the hard state's commit ${report.hardState.commit} is past the log's last index ${report.lastIndex}`,
      });
    }
  } catch (err) {
    if (!(err instanceof CorruptWalError)) throw err;
    report.problems.push({ file: err.file, offset: err.offset, message: err.message });
  }
  report.ok = report.problems.length === 0;
  return report;
}

/** A Vfs that reads through `vfs` and records, instead of making, every change. */
function readOnlyVfs(vfs: Vfs, changes: string[]): Vfs {
  const noFile = (p: string): VfsFile => ({
    write: (data, at) => {
      changes.push(`would overwrite ${data.byteLength} bytes of ${p} at offset ${at}`);
    },
    datasync: async () => {},
    close: async () => {},
  });
  return {
    open: async (p) => noFile(p),
    openForReading: (p) => vfs.openForReading(p),
    readFile: (p) => vfs.readFile(p),
    readdir: (d) => vfs.readdir(d),
    mkdir: async () => undefined,
    realpath: (p) => vfs.realpath(p),
    rename: async (from, to) => {
      changes.push(`would rename ${from} to ${to}`);
    },
    unlink: async (p) => {
      changes.push(`would remove ${p}`);
    },
    syncDir: async () => {},
    process: vfs.process,
  };
}
