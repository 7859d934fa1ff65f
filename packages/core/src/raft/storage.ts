import { CompactedError, SnapshotOutOfDateError, UnavailableError } from "../errors.js";
import { limitSize } from "./entries.js";
import type { ConfState, Entry, HardState, Snapshot } from "./types.js";
import { emptyConfState } from "./types.js";

/** What a node recovers on restart: its hard state and the membership as of its snapshot. */
export interface InitialState {
  hardState: HardState;
  confState: ConfState;
}

/**
 * The Raft log as stored by the application, read by the Raft core.
 *
 * The core never writes through this interface: the application persists what
 * {@link Ready} hands it and then makes it visible here. Every method is synchronous.
 * Errors: {@link CompactedError} for an index below `firstIndex()`, {@link UnavailableError}
 * for one above `lastIndex()`.
 */
export interface Storage {
  initialState(): InitialState;
  /** Entries in [lo, hi), at most `maxBytes` in total but always at least one if any exist. */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  /** The term of entry `i`; `i` may be `firstIndex() - 1` (the snapshot's index). */
  term(i: number): number;
  /** The index of the first entry still available; the snapshot covers everything before it. */
  firstIndex(): number;
  lastIndex(): number;
  /** The most recent snapshot. */
  snapshot(): Snapshot;
}

/** One Ready's worth of state to make durable together. */
export interface StorageBatch {
  hardState?: HardState | null;
  entries?: readonly Entry[];
  snapshot?: Snapshot | null;
}

/**
 * A {@link Storage} the runtime writes to.
 *
 * `save` makes a batch durable and resolves only then. It applies the snapshot first, then
 * the entries (replacing any stored entries at the same or later indexes), then the hard
 * state. A snapshot replaces the log up to its index; entries after it are kept only if the
 * log holds the snapshot's last entry with the same term (Raft paper §7), else all are dropped.
 * `compact(i)` discards entries up to `i`, which must not pass the latest snapshot.
 */
export interface WritableStorage extends Storage {
  save(batch: StorageBatch): Promise<void>;
  /**
   * Optional: writes what `save({ snapshot })` will need of a snapshot the node took itself
   * (a file of its data, say) ahead of that save, so that the save, and the entries saved
   * after it, do not wait for that write. Nothing is visible or recorded until the save.
   */
  prepareSnapshot?(snapshot: Snapshot): Promise<void>;
  compact(index: number): Promise<void> | void;
  close(): Promise<void> | void;
}

/** A {@link Storage} held in memory: for tests, simulations and nodes that keep nothing on disk. */
export class MemoryStorage implements WritableStorage {
  #hardState: HardState = { term: 0, vote: null, commit: 0 };
  #snapshot: Snapshot = { meta: { index: 0, term: 0, confState: emptyConfState() }, data: new Uint8Array() };
  /** The last compacted entry's position; #entries[k] has index #compacted.index + 1 + k. */
  #compacted = { index: 0, term: 0 };
  #entries: Entry[] = [];

  initialState(): InitialState {
    return { hardState: { ...this.#hardState }, confState: cloneConfState(this.#snapshot.meta.confState) };
  }

  setHardState(hs: HardState): void {
    this.#hardState = { ...hs };
  }

  firstIndex(): number {
    return this.#compacted.index + 1;
  }

  lastIndex(): number {
    return this.#compacted.index + this.#entries.length;
  }

  term(i: number): number {
    if (i === this.#compacted.index) return this.#compacted.term;
    if (i < this.#compacted.index) throw new CompactedError(i, this.firstIndex());
    const e = this.#entries[i - this.firstIndex()];
    if (e === undefined) throw new UnavailableError(i, this.lastIndex());
    return e.term;
  }

  entries(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    const first = this.firstIndex();
    if (lo < first) throw new CompactedError(lo, first);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    return limitSize(this.#entries.slice(lo - first, hi - first), maxBytes);
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  /**
   * Appends entries, replacing any stored entries at the same or later indexes (a leader
   * overwrote this node's conflicting tail). Entries already compacted are skipped.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    let ents = entries;
    if (ents[ents.length - 1]!.index < first) return;
    if (ents[0]!.index < first) ents = ents.slice(first - ents[0]!.index);
    const at = ents[0]!.index - first;
    if (at > this.#entries.length) throw new UnavailableError(ents[0]!.index, this.lastIndex());
    this.#entries.length = at;
    for (const e of ents) this.#entries.push(e);
  }

  async save(batch: StorageBatch): Promise<void> {
    this.saveSync(batch);
  }

  /** {@link save}, synchronously: memory needs no waiting. */
  saveSync(batch: StorageBatch): void {
    this.#checkBatch(batch);
    if (batch.snapshot) this.installSnapshot(batch.snapshot);
    if (batch.entries) this.append(batch.entries);
    if (batch.hardState) this.setHardState(batch.hardState);
  }

  close(): void {}

  /** Refuses a batch that could only be half applied: entries not consecutive, or a gap after the snapshot or log. */
  #checkBatch(batch: StorageBatch): void {
    const ents = batch.entries ?? [];
    for (let i = 1; i < ents.length; i++) {
      if (ents[i]!.index !== ents[i - 1]!.index + 1) {
        throw new RangeError(
          `entries of a batch must be consecutive: ${ents[i - 1]!.index} is followed by ${ents[i]!.index}`,
        );
      }
    }
    if (ents.length === 0) return;
    const snapshotIndex = batch.snapshot?.meta.index;
    const end =
      snapshotIndex !== undefined && snapshotIndex > this.lastIndex() ? snapshotIndex : this.lastIndex();
    if (ents[0]!.index > end + 1) throw new UnavailableError(ents[0]!.index, end);
  }

  /**
   * Installs a snapshot: keeps the entries after it if the log holds the snapshot's last
   * entry with the same term (Raft paper §7), else replaces the whole log.
   */
  installSnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    let keep = false;
    try {
      keep = index >= this.firstIndex() - 1 && this.term(index) === term;
    } catch {
      keep = false;
    }
    if (!keep) {
      this.applySnapshot(snapshot);
      return;
    }
    if (index < this.#snapshot.meta.index) throw new SnapshotOutOfDateError(index, this.#snapshot.meta.index);
    this.#snapshot = snapshot;
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.meta.index < this.#snapshot.meta.index) {
      throw new SnapshotOutOfDateError(snapshot.meta.index, this.#snapshot.meta.index);
    }
    this.#snapshot = snapshot;
    this.#compacted = { index: snapshot.meta.index, term: snapshot.meta.term };
    this.#entries = [];
  }

  /**
   * Records a snapshot of the application's state at applied index `i` (which must still be
   * in the log), so the log up to it may be compacted. `confState` is the membership as of `i`.
   */
  createSnapshot(i: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.#snapshot.meta.index) throw new SnapshotOutOfDateError(i, this.#snapshot.meta.index);
    if (i > this.lastIndex()) throw new UnavailableError(i, this.lastIndex());
    this.#snapshot = { meta: { index: i, term: this.term(i), confState: cloneConfState(confState) }, data };
    return this.#snapshot;
  }

  /**
   * Discards entries up to and including `i`. `i` must not pass the snapshot's index: the log
   * is only ever compacted below what a snapshot covers.
   */
  compact(i: number): void {
    if (i <= this.#compacted.index) return;
    if (i > this.#snapshot.meta.index) {
      throw new UnavailableError(i, this.#snapshot.meta.index);
    }
    const term = this.term(i);
    this.#entries = this.#entries.slice(i - this.firstIndex() + 1);
    this.#compacted = { index: i, term };
  }
}

export function cloneConfState(c: ConfState): ConfState {
  return {
    voters: [...c.voters],
    learners: [...c.learners],
    votersOutgoing: [...c.votersOutgoing],
    learnersNext: [...c.learnersNext],
    autoLeave: c.autoLeave,
  };
}
