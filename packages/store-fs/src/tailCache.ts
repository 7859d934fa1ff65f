import { type Entry, entrySize } from "@raftkit/core";

/**
 * The most recent entries, held in memory up to a byte budget, so reads near the end of the
 * log (the ones Raft makes all the time) never touch the disk. Older entries are evicted first.
 *
 * Invariant: the cached entries are a contiguous run ending at the log's last index, or none.
 */
export class TailCache {
  readonly #limit: number;
  #entries: Entry[] = [];
  #head = 0;
  #bytes = 0;

  constructor(limitBytes: number) {
    this.#limit = limitBytes;
  }

  /** Bytes held, counted as {@link entrySize} counts them. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.length - this.#head;
  }

  /** The index of the first cached entry; with nothing cached, +Infinity. */
  get firstIndex(): number {
    return this.#entries[this.#head]?.index ?? Number.POSITIVE_INFINITY;
  }

  /** Entry `i`, which must be at or after {@link firstIndex} and in the log. */
  get(i: number): Entry {
    return this.#entries[this.#head + i - this.firstIndex]!;
  }

  /** Appends entries that continue the log (any overwritten tail was truncated before). */
  append(entries: readonly Entry[]): void {
    const last = this.size > 0 ? this.#entries[this.#entries.length - 1] : undefined;
    if (last && entries[0] && entries[0].index !== last.index + 1) this.clear();
    for (const e of entries) {
      this.#entries.push(e);
      this.#bytes += entrySize(e);
    }
    while (this.#bytes > this.#limit && this.#head < this.#entries.length) {
      this.#bytes -= entrySize(this.#entries[this.#head++]!);
    }
    this.#reclaim();
  }

  /** Drops the entries after `after`. */
  truncate(after: number): void {
    while (this.size > 0 && this.#entries[this.#entries.length - 1]!.index > after) {
      this.#bytes -= entrySize(this.#entries.pop()!);
    }
    this.#reclaim();
  }

  /** Drops the entries up to and including `index`. */
  compact(index: number): void {
    while (this.size > 0 && this.#entries[this.#head]!.index <= index) {
      this.#bytes -= entrySize(this.#entries[this.#head++]!);
    }
    this.#reclaim();
  }

  clear(): void {
    this.#entries = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  #reclaim(): void {
    if (this.#head === this.#entries.length) {
      this.#entries = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}
