import type { Vfs, VfsFile, VfsProcess, VfsReadFile } from "../vfs.js";
import { diskError } from "./diskErrors.js";
import type { FileNode } from "./fileTree.js";
import type { SimulatedDisk } from "./simulatedDisk.js";

/** What a crashed incarnation's calls return: the process is gone, so nothing ever answers. */
function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}

function crashed(): Error {
  return new Error("SimulatedDisk: this Vfs belongs to an incarnation that crashed; use disk.vfs");
}

/**
 * The {@link Vfs} of one incarnation (process lifetime) of a {@link SimulatedDisk}. Every call
 * completes in a microtask, with no real I/O and no timers. Once the disk has crashed, async
 * calls through it, and through files it opened, never settle and sync calls throw.
 *
 * @internal Obtain it as `disk.vfs`.
 */
export class SimulatedVfs implements Vfs {
  readonly #disk: SimulatedDisk;
  readonly process: VfsProcess;

  constructor(disk: SimulatedDisk, incarnation: number) {
    this.#disk = disk;
    this.process = { id: incarnation, isAlive: (id) => id === disk.incarnation };
  }

  get #alive(): boolean {
    return this.process.id === this.#disk.incarnation;
  }

  /** Runs `op` now if this incarnation lives, as a settled promise. */
  #run<T>(op: () => T): Promise<T> {
    if (!this.#alive) return never();
    try {
      return Promise.resolve(op());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  open(path: string, flags: "wx" | "r+"): Promise<VfsFile> {
    return this.#run(() => {
      const tree = this.#disk.tree;
      if (flags === "r+") return this.#writable(tree.file(path, "open"), path);
      this.#disk.injectFault("create", "open", path);
      const file = this.#writable(tree.create(path), path);
      this.#disk.observe("create", path);
      return file;
    });
  }

  openForReading(path: string): VfsReadFile {
    if (!this.#alive) throw crashed();
    const node = this.#disk.tree.file(path, "open");
    let open = true;
    return {
      read: (buffer, offset, length, position) => {
        if (!this.#alive) throw crashed();
        if (!open) throw diskError("EBADF", "read", path);
        return node.content.read(buffer, offset, length, position);
      },
      close: () => {
        if (!open) throw diskError("EBADF", "close", path);
        open = false;
      },
    };
  }

  readFile(path: string): Promise<Buffer> {
    return this.#run(() => Buffer.from(this.#disk.tree.file(path, "open").content.bytes()));
  }

  readdir(dir: string): Promise<string[]> {
    return this.#run(() => [...this.#disk.tree.dir(dir, "scandir").entries.keys()].sort());
  }

  mkdir(dir: string): Promise<string | undefined> {
    return this.#run(() => {
      const first = this.#disk.tree.mkdir(dir);
      if (first !== undefined) this.#disk.observe("mkdir", dir);
      return first;
    });
  }

  realpath(path: string): Promise<string> {
    return this.#run(() => {
      if (!this.#disk.tree.lookup(path)) throw diskError("ENOENT", "realpath", path);
      return this.#disk.normalize(path);
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.#run(() => {
      this.#disk.tree.rename(from, to);
      this.#disk.observe("rename", to);
    });
  }

  unlink(path: string): Promise<void> {
    return this.#run(() => {
      this.#disk.tree.unlink(path);
      this.#disk.observe("unlink", path);
    });
  }

  syncDir(dir: string): Promise<void> {
    return this.#run(() => {
      const node = this.#disk.tree.dir(dir, "fsync");
      this.#disk.injectFault("syncDir", "fsync", dir);
      node.durable = new Map(node.entries);
      this.#disk.observe("syncDir", dir);
    });
  }

  #writable(node: FileNode, path: string): VfsFile {
    let open = true;
    const check = (syscall: string): void => {
      if (!open) throw diskError("EBADF", syscall, path);
    };
    return {
      write: (data, position) =>
        this.#run(() => {
          check("write");
          this.#disk.injectFault("write", "write", path);
          node.content.write(data, position);
          this.#disk.observe("write", path);
        }),
      datasync: () =>
        this.#run(() => {
          check("fdatasync");
          // A failed fsync leaves the data unsynced: a crash may still lose it.
          this.#disk.injectFault("datasync", "fdatasync", path);
          node.content.datasync();
          this.#disk.observe("datasync", path);
        }),
      close: () =>
        this.#run(() => {
          check("close");
          open = false;
        }),
    };
  }
}
