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
  /** The file system every disk access goes through; tests inject faults or simulate a disk here. Default: the real one. */
  vfs?: Vfs;
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
  };
  if (!(opts.segmentBytes >= 1024))
    throw new RangeError(`segmentBytes must be at least 1024, not ${opts.segmentBytes}`);
  if (!(opts.cacheBytes >= 0)) throw new RangeError(`cacheBytes must be at least 0, not ${opts.cacheBytes}`);
  return opts;
}
