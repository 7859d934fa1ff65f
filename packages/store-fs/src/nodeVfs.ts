import fs from "node:fs";
import fsp from "node:fs/promises";
import type { Vfs, VfsFile, VfsProcess, VfsReadFile } from "./vfs.js";

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

class NodeReadFile implements VfsReadFile {
  readonly #fd: number;
  constructor(fd: number) {
    this.#fd = fd;
  }

  read(buffer: Uint8Array, offset: number, length: number, position: number): number {
    return fs.readSync(this.#fd, buffer, offset, length, position);
  }

  close(): void {
    fs.closeSync(this.#fd);
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

/** This OS process: lock files hold its pid, and a pid is alive while signal 0 reaches it. */
const nodeProcess: VfsProcess = {
  id: process.pid,
  isAlive(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "EPERM";
    }
  },
};

/** The real file system. Callbacks rather than `fs/promises` file handles: they cost less per call. */
export const nodeVfs: Vfs = {
  open(path, flags) {
    return new Promise((resolve, reject) =>
      fs.open(path, flags, 0o644, (err, fd) => (err ? reject(err) : resolve(new NodeFile(fd)))),
    );
  },
  openForReading: (path) => new NodeReadFile(fs.openSync(path, "r")),
  readFile: (path) => fsp.readFile(path),
  readdir: (dir) => fsp.readdir(dir),
  mkdir: (dir) => fsp.mkdir(dir, { recursive: true }),
  realpath: (path) => fsp.realpath(path),
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
  process: nodeProcess,
};
