import { RaftkitError, type RaftkitErrorCode } from "@raftkit/core";

/** The codes of store-fs's errors. */
export type StoreFsErrorCode = Extract<
  RaftkitErrorCode,
  "CORRUPT_WAL" | "STORAGE_LOCKED" | "STORAGE_FAILED" | "STORAGE_CLOSED"
>;

/**
 * A file in the storage directory holds bytes that were never written as they read: a record
 * whose checksum fails before the end of the log, a missing segment, an unreadable snapshot
 * with nothing to fall back to. Nothing is skipped: the directory must be repaired or the node
 * restored from its peers.
 */
export class CorruptWalError extends RaftkitError {
  /** The damaged file's path. */
  readonly file: string;
  /** The byte offset in `file` where the damage starts. */
  readonly offset: number;
  constructor(file: string, offset: number, problem: string) {
    super(
      "CORRUPT_WAL",
      `corrupt storage: ${file} at byte ${offset}: ${problem}. This is not a torn write from a crash, so ` +
        "nothing was cut off. Restore the directory from a backup, or delete it and let the node rejoin " +
        "the cluster as an empty member to receive a snapshot from the leader",
    );
    this.file = file;
    this.offset = offset;
  }
}

/** Another FileStorage (in this process or another) holds the directory. */
export class StorageLockedError extends RaftkitError {
  readonly dir: string;
  /** The process holding the lock. */
  readonly pid: number;
  constructor(dir: string, pid: number, heldByThisProcess = pid === process.pid) {
    const who = heldByThisProcess ? `this process (pid ${pid})` : `process ${pid}`;
    super(
      "STORAGE_LOCKED",
      `storage directory ${dir} is in use by ${who}: close that storage or stop that process first. ` +
        `If no such process exists, delete ${dir}/LOCK`,
    );
    this.dir = dir;
    this.pid = pid;
  }
}

/**
 * A write or fsync failed. What the disk holds is now uncertain (the page cache may have dropped
 * the data), so the storage refuses every further write; the node must restart, which reopens
 * the directory and recovers what reached the disk.
 */
export class StorageFailedError extends RaftkitError {
  constructor(dir: string, cause: unknown) {
    super(
      "STORAGE_FAILED",
      `storage at ${dir} failed and accepts no more writes (${cause instanceof Error ? cause.message : String(cause)}); ` +
        "restart the node to recover from what is on disk",
    );
    this.cause = cause;
  }
}

/** The storage was closed. */
export class StorageClosedError extends RaftkitError {
  constructor(dir: string) {
    super("STORAGE_CLOSED", `storage at ${dir} is closed; open it again with openFileStorage`);
  }
}
