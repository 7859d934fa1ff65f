import { type Clock, type SeededRandom, type StorageBatch, sleep, type WritableStorage } from "@raftkit/core";
import { openFileStorage } from "@raftkit/store-fs";
import { SimulatedDisk } from "@raftkit/store-fs/testing";
import { MemoryDisk } from "./memoryDisk.js";
import { cutBadTailAsTorn, type Damage, flipFrameBit } from "./walDamage.js";

/** Ways to break the disk on purpose, to prove the checks catch what a broken disk does. */
export interface DiskBugs {
  /** A crash loses the last entries, though they were reported durable. */
  loseTail?: boolean;
  /** Recovery cuts a damaged last WAL frame as if a crash tore it (store-fs before it told them apart). */
  acceptCorruptTail?: boolean;
}

/** One node's disk, across its process's incarnations: the storage factory of the simulation. */
export interface NodeDisk {
  /** Opens the storage for a new incarnation, whose timers run on `clock`; recovers what the disk holds. */
  open(clock: Clock): Promise<WritableStorage>;
  /** The process died: what was not durable is lost (the last unsynced write may be torn). */
  crash(): void;
  /** The next write or fsync fails with `code`. */
  failNextWrite(code: "EIO" | "ENOSPC"): void;
  clearFaults(): void;
  /** Flips a bit in a complete WAL frame (the process is down), or returns null if this disk cannot. */
  corrupt(rng: SeededRandom): Damage | null;
  /** Damage made by {@link corrupt} that no open has refused yet. */
  damage: Damage | null;
  /** Damage that an open accepted (a violation), until read. */
  acceptedDamage: Damage | null;
}

/** WAL segments this small roll over (and get deleted behind snapshots) within a run. */
const SEGMENT_BYTES = 8 * 1024;
/** A small cache, so reads of older entries go to the (simulated) disk. */
const CACHE_BYTES = 4 * 1024;

/**
 * The real FileStorage (WAL and snapshot files) on store-fs's SimulatedDisk: only fsynced data
 * survives a crash, the last unsynced write may be torn at a sector, a crashed process's lock
 * is released, and writes or fsyncs can fail with EIO or ENOSPC.
 */
class FileDisk implements NodeDisk {
  readonly #disk: SimulatedDisk;
  readonly #dir: string;
  readonly #latencyMs: number;
  readonly #bugs: DiskBugs;
  damage: Damage | null = null;
  acceptedDamage: Damage | null = null;

  constructor(id: string, rng: SeededRandom, latencyMs: number, bugs: DiskBugs) {
    this.#disk = new SimulatedDisk({ random: () => rng.next() });
    this.#dir = `/data/${id}`;
    this.#latencyMs = latencyMs;
    this.#bugs = bugs;
  }

  async open(clock: Clock): Promise<WritableStorage> {
    if (this.#bugs.acceptCorruptTail) cutBadTailAsTorn(this.#disk, this.#dir);
    const storage = await openFileStorage(this.#dir, {
      vfs: this.#disk.vfs,
      segmentBytes: SEGMENT_BYTES,
      cacheBytes: CACHE_BYTES,
      // Group commits run in the node's simulated time: a crash or a pause holds them too.
      setImmediate: (fn) => clock.setImmediate(fn),
    });
    if (this.damage) {
      this.acceptedDamage = this.damage;
      this.damage = null;
    }
    return this.#latencyMs > 0 ? withLatency(storage, clock, this.#latencyMs) : storage;
  }

  corrupt(rng: SeededRandom): Damage | null {
    this.damage = flipFrameBit(this.#disk, this.#dir, rng);
    return this.damage;
  }

  crash(): void {
    this.#disk.crash();
  }

  failNextWrite(code: "EIO" | "ENOSPC"): void {
    this.#disk.failNext({ op: code === "EIO" ? "datasync" : "write", code });
  }

  clearFaults(): void {
    // One-shot faults not yet hit stay armed on SimulatedDisk; hitting one later is just another fault.
  }
}

/** A storage whose saves take `ms` of the node's time before they reach the disk (a crash meanwhile loses them). */
function withLatency(s: WritableStorage, clock: Clock, ms: number): WritableStorage {
  return {
    initialState: () => s.initialState(),
    entries: (lo, hi, maxBytes) => s.entries(lo, hi, maxBytes),
    term: (i) => s.term(i),
    firstIndex: () => s.firstIndex(),
    lastIndex: () => s.lastIndex(),
    snapshot: () => s.snapshot(),
    async save(batch: StorageBatch) {
      await sleep(clock, ms);
      await s.save(batch);
    },
    compact: (i) => s.compact(i),
    close: () => s.close(),
  };
}

/** The disk of node `id`: FileStorage on a SimulatedDisk, or, for the broken-disk variants, a MemoryStorage image. */
export function makeDisk(id: string, rng: SeededRandom, latencyMs: number, bugs: DiskBugs): NodeDisk {
  if (bugs.loseTail) return new MemoryDisk({ latencyMs, bugs });
  return new FileDisk(id, rng, latencyMs, bugs);
}
