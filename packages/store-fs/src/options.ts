import { type Logger, silentLogger } from "@raftkit/core";
import { nodeVfs } from "./nodeVfs.js";
import type { Vfs } from "./vfs.js";

/** Options of `openFileStorage`. */
export interface FileStorageOptions {
  /** A segment file is closed and a new one started once it would pass this size. Default 64 MiB. */
  segmentBytes?: number;
  /** How many bytes of the most recent entries to keep in memory (as `entrySize` counts). Default 32 MiB. */
  cacheBytes?: number;
  /** Where recovery and cleanup report (cut torn writes, snapshot fallbacks). Default: silent. */
  logger?: Logger;
  /**
   * Whether `save` fsyncs (and segments are preallocated). Default true. False gives up
   * durability: only for benchmarks and tests.
   */
  sync?: boolean;
  /**
   * Called after every group commit of the write-ahead log (one write and one fdatasync) with
   * its duration, the entries it made durable and its size; for metrics and slow-disk logs.
   * Must return quickly and not throw.
   */
  onSync?: (commit: WalCommit) => void;
  /**
   * How the WAL schedules its next group commit once the callers of the last one have queued
   * theirs (a macrotask). Default `setImmediate`; a simulation passes its clock's, so that the
   * store runs in simulated time.
   */
  setImmediate?: (fn: () => void) => void;
  /** The file system every disk access goes through; tests inject faults or simulate a disk here. Default: the real one. */
  vfs?: Vfs;
}

/** One group commit of the write-ahead log, as {@link FileStorageOptions.onSync} reports it. */
export interface WalCommit {
  /** From the start of the write to the end of its fdatasync (or of the write, without sync), in ms. */
  durationMs: number;
  /** Log entries made durable by it (0 for a commit of hard state only). */
  entries: number;
  /** Bytes written. */
  bytes: number;
}

/** @internal The options with every default filled in. */
export type ResolvedOptions = Required<FileStorageOptions>;

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024;

/** Fills in defaults; throws RangeError for values that cannot work. */
export function resolveOptions(options: FileStorageOptions): ResolvedOptions {
  const opts = {
    segmentBytes: options.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
    cacheBytes: options.cacheBytes ?? DEFAULT_CACHE_BYTES,
    logger: options.logger ?? silentLogger,
    sync: options.sync ?? true,
    vfs: options.vfs ?? nodeVfs,
    onSync: options.onSync ?? ((): void => {}),
    setImmediate: options.setImmediate ?? ((fn: () => void): void => void setImmediate(fn)),
  };
  if (!(opts.segmentBytes >= 1024))
    throw new RangeError(`segmentBytes must be at least 1024, not ${opts.segmentBytes}`);
  if (!(opts.cacheBytes >= 0)) throw new RangeError(`cacheBytes must be at least 0, not ${opts.cacheBytes}`);
  return opts;
}
