/** A file opened for writing through a {@link Vfs}. */
export interface VfsFile {
  /** Writes all of `data` at `position`; may finish synchronously. */
  write(data: Uint8Array, position: number): Promise<void> | void;
  /** Makes what was written durable (fdatasync). */
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/** A file opened for positional reads, synchronous so that reading a cached segment costs no thread-pool hop. */
export interface VfsReadFile {
  /** Reads up to `length` bytes at `position` into `buffer` from `offset`; returns how many (0 at the end of the file). */
  read(buffer: Uint8Array, offset: number, length: number, position: number): number;
  close(): void;
}

/**
 * The process that directory locks taken through a {@link Vfs} belong to. Lock files record
 * `id`; a lock file naming an `id` for which `isAlive` is false was left by a crash.
 */
export interface VfsProcess {
  readonly id: number;
  isAlive(id: number): boolean;
}

/**
 * Every disk access of a FileStorage: the real file system ({@link nodeVfs}), one that injects
 * faults, or a simulated disk (`SimulatedDisk` from `@raftkit/store-fs/testing`).
 *
 * Paths are absolute or relative as given to `openFileStorage`, joined with `node:path`.
 * Failures are errors shaped like Node's: a `code` (`ENOENT`, `EEXIST`, `EIO`, `ENOSPC`, …) and
 * a message naming the path.
 */
export interface Vfs {
  /** Opens a file for writing: `"wx"` creates it and fails if it exists; `"r+"` opens an existing one. */
  open(path: string, flags: "wx" | "r+"): Promise<VfsFile>;
  /** Opens an existing file for synchronous positional reads. */
  openForReading(path: string): VfsReadFile;
  /** A whole file's contents. */
  readFile(path: string): Promise<Buffer>;
  /** The names in a directory. */
  readdir(dir: string): Promise<string[]>;
  /** Creates `dir` and any missing parents; resolves with the first directory created, or undefined if `dir` existed. */
  mkdir(dir: string): Promise<string | undefined>;
  /** The canonical path of an existing file or directory. */
  realpath(path: string): Promise<string>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Makes the directory's entries (created, renamed, deleted files) durable. */
  syncDir(dir: string): Promise<void>;
  /** Who takes directory locks through this Vfs. */
  readonly process: VfsProcess;
}
