import { posix } from "node:path";
import type { Vfs } from "../vfs.js";
import { diskError } from "./diskErrors.js";
import type { Tear } from "./fileContent.js";
import { FileTree, normalize } from "./fileTree.js";
import { SimulatedVfs } from "./simulatedVfs.js";

/** An operation a {@link SimulatedDisk} can fail. `create` is an `open(path, "wx")`; `syncDir` a directory fsync. */
export type DiskFaultOp = "write" | "datasync" | "create" | "syncDir";

/** The errors injected faults raise. */
export type DiskFaultCode = "EIO" | "ENOSPC";

/** A one-shot fault: the next `op` (on a path matching `path`, if given) fails with `code` (default EIO). */
export interface DiskFault {
  op: DiskFaultOp;
  code?: DiskFaultCode;
  path?: string | RegExp;
}

/** An operation that changed the disk (it took effect, volatile until synced). */
export interface DiskOperation {
  op: DiskFaultOp | "rename" | "unlink" | "mkdir";
  path: string;
}

/** A fault that was injected. */
export interface InjectedFault {
  op: DiskFaultOp;
  code: DiskFaultCode;
  path: string;
  incarnation: number;
}

/** What {@link SimulatedDisk.crash} did. */
export interface CrashReport {
  /** The incarnation that crashed. */
  crashed: number;
  /** The files whose last unsynced write was (partly) put back, in path order. */
  torn: { path: string; tear: Tear }[];
}

export interface SimulatedDiskOptions {
  /** The source of every random choice (tears, probabilistic faults): a seeded PRNG returning [0, 1). */
  random: () => number;
  /** For each op, the probability that it fails (EIO or ENOSPC, drawn from `random`). Default: none. */
  faultRates?: Partial<Record<DiskFaultOp, number>>;
}

/**
 * An in-memory disk with the durability of a real one, for deterministic simulations and tests
 * that run the real FileStorage: `openFileStorage(dir, { vfs: disk.vfs })`.
 *
 * - Every operation completes in a microtask: no real I/O, no timers.
 * - File bytes written but not `datasync`ed, and directory entries (create, rename, unlink,
 *   mkdir) not `syncDir`ed, are volatile: {@link crash} drops them, and may keep a prefix of
 *   each file's last unsynced write, cut at a 512-byte sector boundary drawn from `random`.
 * - Faults: {@link failNext} (one-shot) and {@link faultRates} (probabilities) fail a write, a
 *   datasync, a file creation or a directory fsync with a node-shaped EIO or ENOSPC. A failed
 *   write writes nothing; a failed datasync leaves the data volatile.
 * - Incarnations: {@link vfs} belongs to the current incarnation (a process lifetime); its
 *   `process.id` is what lock files record. `crash()` starts the next incarnation: the crashed
 *   one's locks become stale, so a restarted node opens its storage again, and calls through
 *   the crashed incarnation's Vfs never settle (sync ones throw), as for a killed process.
 *
 * Paths are POSIX, resolved against `/`. Given the same `random` and the same calls in the same
 * order, every outcome is the same.
 */
export class SimulatedDisk {
  /** For each op, the probability that it fails. May be changed at any time. */
  faultRates: Partial<Record<DiskFaultOp, number>>;
  /**
   * Called after each operation that changed the disk, synchronously, from inside the call: it
   * may call {@link crash}, to crash right after a given write (before its fsync), say.
   */
  onOperation: ((operation: DiskOperation) => void) | null = null;
  /** @internal */
  readonly tree = new FileTree();
  readonly #random: () => number;
  readonly #oneShot: DiskFault[] = [];
  readonly #injected: InjectedFault[] = [];
  #incarnation = 1;
  #vfs: SimulatedVfs;

  constructor(options: SimulatedDiskOptions) {
    this.#random = options.random;
    this.faultRates = { ...options.faultRates };
    this.#vfs = new SimulatedVfs(this, this.#incarnation);
  }

  /** The current incarnation, from 1; each {@link crash} adds one. */
  get incarnation(): number {
    return this.#incarnation;
  }

  /** The Vfs of the current incarnation. Read it again after {@link crash}. */
  get vfs(): Vfs {
    return this.#vfs;
  }

  /** The faults injected so far, oldest first. */
  get injected(): readonly InjectedFault[] {
    return this.#injected;
  }

  /** Makes the next matching operation fail (faults are matched in the order they were added). */
  failNext(fault: DiskFault): void {
    this.#oneShot.push(fault);
  }

  /**
   * Crashes the machine: everything volatile is lost, except a sector-aligned prefix of each
   * file's last unsynced write; the current incarnation ends and the next begins.
   */
  crash(): CrashReport {
    const crashed = this.#incarnation;
    const torn = this.tree.crash(this.#random);
    this.#incarnation++;
    this.#vfs = new SimulatedVfs(this, this.#incarnation);
    return { crashed, torn };
  }

  /** The bytes of the file at `path`, as reads see them now. Throws ENOENT if there is none. */
  readFile(path: string): Uint8Array {
    return this.tree.file(path, "open").content.bytes();
  }

  /** The bytes `path` would hold after a crash that tears nothing, or null if it would not exist. */
  readDurable(path: string): Uint8Array | null {
    return this.tree.durableFile(path)?.content.durable() ?? null;
  }

  /** The files under `dir` (default: all), as full paths in name order. */
  listFiles(dir = "/"): string[] {
    return this.tree.files(dir).map((f) => f.path);
  }

  /** The files under `dir` that a crash would leave (durable directory entries), in name order. */
  listDurableFiles(dir = "/"): string[] {
    return this.tree.files(dir, true).map((f) => f.path);
  }

  /** Flips bit `bit` (0 = least significant) of the byte at `offset` of `path`, durably: media damage. */
  flipBit(path: string, offset: number, bit = 0): void {
    this.tree.file(path, "open").content.flip(offset, 1 << bit);
  }

  /** Puts a file at `path` holding `data`, durably, creating missing directories: for setting up tests. */
  writeFile(path: string, data: Uint8Array): void {
    const p = normalize(path);
    this.tree.mkdir(posix.dirname(p));
    const existing = this.tree.lookup(p);
    if (existing) this.tree.unlink(p);
    const file = this.tree.create(p);
    file.content.write(data, 0);
    file.content.datasync();
    this.#syncPath(p);
  }

  /** @internal Throws the fault the next `op` on `path` must fail with, if any. */
  injectFault(op: DiskFaultOp, syscall: string, path: string): void {
    const k = this.#oneShot.findIndex(
      (f) =>
        f.op === op &&
        (f.path === undefined ||
          (typeof f.path === "string" ? normalize(f.path) === normalize(path) : f.path.test(path))),
    );
    let code: DiskFaultCode | null = null;
    if (k >= 0) code = this.#oneShot.splice(k, 1)[0]!.code ?? "EIO";
    else {
      const rate = this.faultRates[op] ?? 0;
      if (rate > 0 && this.#random() < rate) code = this.#random() < 0.5 ? "EIO" : "ENOSPC";
    }
    if (code === null) return;
    this.#injected.push({ op, code, path, incarnation: this.#incarnation });
    throw diskError(code, syscall, path);
  }

  /** @internal */
  observe(op: DiskOperation["op"], path: string): void {
    this.onOperation?.({ op, path });
  }

  /** @internal */
  normalize(path: string): string {
    return normalize(path);
  }

  /** Makes every directory entry on the way to `p` durable. */
  #syncPath(p: string): void {
    const names = p.split("/").filter(Boolean);
    for (let k = 0; k < names.length; k++) {
      const dir = this.tree.lookup(`/${names.slice(0, k).join("/")}`);
      if (dir?.kind === "dir") dir.durable = new Map(dir.entries);
    }
  }
}
