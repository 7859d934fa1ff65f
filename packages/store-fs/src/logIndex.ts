import { TermLog } from "./termLog.js";

/** Where an entry record lies on disk. */
export interface EntryLocation {
  seq: number;
  offset: number;
  length: number;
}

/**
 * The durable log as held in memory: its {@link TermLog} and, for every entry, where its record
 * lies (segment, offset, length): 16 bytes an entry, whatever the entry's size.
 *
 * Invariant: slot `head + k` describes entry `compactedIndex + 1 + k`.
 */
export class LogIndex {
  readonly terms = new TermLog();
  #seq = new Uint32Array(1024);
  #offset = new Float64Array(1024);
  #length = new Uint32Array(1024);
  #head = 0;
  #count = 0;

  get firstIndex(): number {
    return this.terms.compactedIndex + 1;
  }

  get lastIndex(): number {
    return this.terms.lastIndex;
  }

  /** The location of entry `i`, which must be in [firstIndex, lastIndex]. */
  location(i: number): EntryLocation {
    const k = this.#head + i - this.firstIndex;
    return { seq: this.#seq[k]!, offset: this.#offset[k]!, length: this.#length[k]! };
  }

  /** The byte length of entry `i`'s record, which must be in [firstIndex, lastIndex]. */
  recordLength(i: number): number {
    return this.#length[this.#head + i - this.firstIndex]!;
  }

  append(index: number, term: number, seq: number, offset: number, length: number): void {
    this.terms.append(index, term);
    if (this.#head + this.#count === this.#seq.length) this.#makeRoom();
    const k = this.#head + this.#count++;
    this.#seq[k] = seq;
    this.#offset[k] = offset;
    this.#length[k] = length;
  }

  truncate(after: number): void {
    this.terms.truncate(after);
    this.#count = after - this.terms.compactedIndex;
  }

  compact(index: number, term: number): void {
    const drop = Math.min(this.#count, index - this.terms.compactedIndex);
    this.terms.compact(index, term);
    this.#head += drop;
    this.#count -= drop;
    if (this.#count === 0) this.#head = 0;
  }

  reset(index: number, term: number): void {
    this.terms.reset(index, term);
    this.#head = 0;
    this.#count = 0;
  }

  #makeRoom(): void {
    const cap = this.#seq.length;
    if (this.#head >= cap / 2) {
      this.#seq.copyWithin(0, this.#head, this.#head + this.#count);
      this.#offset.copyWithin(0, this.#head, this.#head + this.#count);
      this.#length.copyWithin(0, this.#head, this.#head + this.#count);
      this.#head = 0;
      return;
    }
    const grow = <T extends Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap * 2);
      b.set(a.subarray(this.#head, this.#head + this.#count));
      return b;
    };
    this.#seq = grow(this.#seq, (n) => new Uint32Array(n));
    this.#offset = grow(this.#offset, (n) => new Float64Array(n));
    this.#length = grow(this.#length, (n) => new Uint32Array(n));
    this.#head = 0;
  }
}
