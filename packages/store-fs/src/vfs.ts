import fs from "node:fs";
import fsp from "node:fs/promises";

/** A file opened for writing through a {@link Vfs}. */
export interface VfsFile {
  /** Writes all of `data` at `position`; may finish synchronously. */
  write(data: Uint8Array, position: number): Promise<void> | void;
  /** Makes what was written durable (fdatasync). */
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Every operation by which a FileStorage changes the disk, so tests can inject faults (torn
 * writes, failing fsyncs). Reads go to `node:fs` directly: they change nothing.
 */
export interface Vfs {
  /** Opens a file for writing: `"wx"` creates it and fails if it exists; `"r+"` opens an existing one. */
  open(path: string, flags: "wx" | "r+"): Promise<VfsFile>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Makes the directory's entries (created, renamed, deleted files) durable. */
  syncDir(dir: string): Promise<void>;
}

/**
 * Writes up to this size are made on the calling thread: a write into the page cache takes
 * microseconds, less than the thread-pool hop of an async write, which would cost a batch of
 * one entry a tenth of its fsync budget. Larger writes go to the thread pool.
 */
const SYNC_WRITE_MAX = 256 * 1024;

class NodeFile implements VfsFile {
  readonly #fd: number;
  constructor(fd: number) {
    this.#fd = fd;
  }

  write(data: Uint8Array, position: number): Promise<void> | void {
    if (data.byteLength <= SYNC_WRITE_MAX) {
      let done = 0;
      while (done < data.byteLength) {
        done += fs.writeSync(this.#fd, data, done, data.byteLength - done, position + done);
      }
      return;
    }
    return this.#writeAsync(data, position);
  }

  async #writeAsync(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.byteLength) {
      const { bytesWritten } = await writeAt(this.#fd, data, done, data.byteLength - done, position + done);
      done += bytesWritten;
    }
  }

  datasync(): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(this.#fd, (err) => (err ? reject(err) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => fs.close(this.#fd, (err) => (err ? reject(err) : resolve())));
  }
}

function writeAt(
  fd: number,
  data: Uint8Array,
  offset: number,
  length: number,
  position: number,
): Promise<{ bytesWritten: number }> {
  return new Promise((resolve, reject) =>
    fs.write(fd, data, offset, length, position, (err, bytesWritten) =>
      err ? reject(err) : resolve({ bytesWritten }),
    ),
  );
}

/** The real file system. Callbacks rather than `fs/promises` file handles: they cost less per call. */
export const nodeVfs: Vfs = {
  open(path, flags) {
    return new Promise((resolve, reject) =>
      fs.open(path, flags, 0o644, (err, fd) => (err ? reject(err) : resolve(new NodeFile(fd)))),
    );
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  async syncDir(dir) {
    const handle = await fsp.open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};
