import {
  type Clock,
  type Entry,
  MemoryStorage,
  type Snapshot,
  type StorageBatch,
  sleep,
  type WritableStorage,
} from "@raftkit/core";
import type { DiskBugs, NodeDisk } from "./nodeDisk.js";

/** An I/O error as Node reports it. */
class DiskError extends Error {
  readonly code: "EIO" | "ENOSPC";
  constructor(code: "EIO" | "ENOSPC", what: string) {
    super(`${code}: simulated ${code === "EIO" ? "I/O error" : "full disk"} during ${what}`);
    this.code = code;
  }
}

/**
 * A node's disk as a MemoryStorage image, for the broken-disk variants, whose breakage is
 * defined at the storage level (acknowledged entries lost in a crash). What a save
 * completed is durable; a save still under way when the node crashes is lost as a whole; a
 * save may be made to fail with EIO or ENOSPC.
 */
export class MemoryDisk implements NodeDisk {
  #image = new MemoryStorage();
  #views: DiskView[] = [];
  #failNext: "EIO" | "ENOSPC" | null = null;
  readonly #bugs: DiskBugs;
  readonly #latencyMs: number;
  damage = null;
  acceptedDamage = null;
  /** Entries dropped by the loseTail bug so far. */
  lostEntries = 0;

  constructor(o: { latencyMs: number; bugs?: DiskBugs }) {
    this.#latencyMs = o.latencyMs;
    this.#bugs = o.bugs ?? {};
  }

  /** Opens the storage for a new incarnation of the node, whose timers run on `clock`. */
  async open(clock: Clock): Promise<WritableStorage> {
    const view = new DiskView(this, clock, this.#latencyMs);
    this.#views.push(view);
    return view;
  }

  /** The process died: what its open storages had under way is lost. */
  crash(): void {
    for (const v of this.#views) v.alive = false;
    this.#views = [];
    if (this.#bugs.loseTail) this.#dropTail(3);
  }

  failNextWrite(code: "EIO" | "ENOSPC"): void {
    this.#failNext = code;
  }

  clearFaults(): void {
    this.#failNext = null;
  }

  /** An image of entries has no frames to damage. */
  corrupt(): null {
    return null;
  }

  /** @internal */
  get image(): MemoryStorage {
    return this.#image;
  }

  /** @internal Throws the injected fault, once. */
  takeFault(what: string): void {
    const f = this.#failNext;
    if (f === null) return;
    this.#failNext = null;
    throw new DiskError(f, what);
  }

  #dropTail(n: number): void {
    const old = this.#image;
    const first = old.firstIndex();
    const last = old.lastIndex();
    const keep = Math.max(first - 1, last - n);
    if (keep >= last) return;
    const fresh = new MemoryStorage();
    const snap: Snapshot = old.snapshot();
    if (snap.meta.index > 0) fresh.applySnapshot(snap);
    const entries: Entry[] = keep >= first ? old.entries(first, keep + 1) : [];
    if (entries.length > 0) fresh.append(entries);
    const hs = old.initialState().hardState;
    fresh.setHardState({ ...hs, commit: Math.min(hs.commit, Math.max(keep, snap.meta.index)) });
    this.lostEntries += last - keep;
    this.#image = fresh;
  }
}

/** One incarnation's open storage on a {@link MemoryDisk}. */
class DiskView implements WritableStorage {
  alive = true;
  readonly #disk: MemoryDisk;
  readonly #clock: Clock;
  readonly #latencyMs: number;

  constructor(disk: MemoryDisk, clock: Clock, latencyMs: number) {
    this.#disk = disk;
    this.#clock = clock;
    this.#latencyMs = latencyMs;
  }

  initialState() {
    return this.#disk.image.initialState();
  }
  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    return this.#disk.image.entries(lo, hi, maxBytes);
  }
  term(i: number): number {
    return this.#disk.image.term(i);
  }
  firstIndex(): number {
    return this.#disk.image.firstIndex();
  }
  lastIndex(): number {
    return this.#disk.image.lastIndex();
  }
  snapshot(): Snapshot {
    return this.#disk.image.snapshot();
  }

  async save(batch: StorageBatch): Promise<void> {
    this.#check();
    // The write and its fsync take time; a crash meanwhile loses the whole batch.
    await sleep(this.#clock, this.#latencyMs);
    this.#check();
    this.#disk.takeFault("fdatasync");
    await this.#disk.image.save(batch);
  }

  compact(index: number): void {
    this.#check();
    this.#disk.takeFault("compaction");
    this.#disk.image.compact(index);
  }

  close(): void {
    this.alive = false;
  }

  #check(): void {
    if (!this.alive) throw new Error("storage closed");
  }
}
