import type { Entry, Snapshot } from "./types.js";

/**
 * The tail of the log not yet known to be on stable storage, and a snapshot not yet persisted.
 *
 * Entries and the snapshot are handed to the application once (the "in progress" marks),
 * and dropped from here only when the application reports them stable.
 *
 * Invariant: entries[k].index === offset + k; offset <= offsetInProgress <= offset + entries.length.
 * Invariant: if snapshot is set, offset === snapshot.meta.index + 1.
 */
export class Unstable {
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  offset: number;
  /** Entries below this index were handed to the application and are being written. */
  offsetInProgress: number;
  snapshotInProgress = false;

  constructor(offset: number) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  /** The first index the unstable snapshot implies, if there is one. */
  maybeFirstIndex(): number | null {
    return this.snapshot ? this.snapshot.meta.index + 1 : null;
  }

  maybeLastIndex(): number | null {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot ? this.snapshot.meta.index : null;
  }

  /** The term of entry `i` if it is held here, else null. */
  maybeTerm(i: number): number | null {
    if (i < this.offset) {
      if (this.snapshot && this.snapshot.meta.index === i) return this.snapshot.meta.term;
      return null;
    }
    const e = this.entries[i - this.offset];
    return e ? e.term : null;
  }

  /** Entries not yet handed to the application for writing. */
  nextEntries(): Entry[] {
    const inProgress = this.offsetInProgress - this.offset;
    return inProgress === this.entries.length ? [] : this.entries.slice(inProgress);
  }

  nextSnapshot(): Snapshot | null {
    return this.snapshot && !this.snapshotInProgress ? this.snapshot : null;
  }

  /** Marks everything handed out so far as being written. */
  acceptInProgress(): void {
    if (this.entries.length > 0) this.offsetInProgress = this.offset + this.entries.length;
    if (this.snapshot) this.snapshotInProgress = true;
  }

  /**
   * The application has made entries up to `index` (whose term is `term`) stable. Ignored
   * when the entry at `index` was since replaced by one of another term.
   */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    if (t === null || index < this.offset || t !== term) return;
    const n = index + 1 - this.offset;
    this.entries = this.entries.slice(n);
    this.offset = index + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
  }

  stableSnapTo(index: number): void {
    if (this.snapshot && this.snapshot.meta.index === index) {
      this.snapshot = null;
      this.snapshotInProgress = false;
    }
  }

  restore(s: Snapshot): void {
    this.offset = s.meta.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  /** Appends `ents`, first cutting off any held entries at or after the first of them. */
  truncateAndAppend(ents: readonly Entry[]): void {
    const from = ents[0]!.index;
    const end = this.offset + this.entries.length;
    if (from > end) throw new Error(`unstable: an append at ${from} would leave a gap after ${end - 1}`);
    if (from === end) {
      for (const e of ents) this.entries.push(e);
    } else if (from <= this.offset) {
      // Replaces everything held here; the writes in flight are superseded.
      this.offset = from;
      this.offsetInProgress = this.offset;
      this.entries = [...ents];
    } else {
      this.entries = this.entries.slice(0, from - this.offset);
      for (const e of ents) this.entries.push(e);
      this.offsetInProgress = Math.min(this.offsetInProgress, from);
    }
  }

  /** Entries in [lo, hi), all of which must be held here. */
  slice(lo: number, hi: number): Entry[] {
    if (lo > hi) throw new Error(`invalid unstable slice ${lo} > ${hi}`);
    const upper = this.offset + this.entries.length;
    if (lo < this.offset || hi > upper) {
      throw new Error(`unstable.slice[${lo},${hi}) out of bound [${this.offset},${upper}]`);
    }
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
