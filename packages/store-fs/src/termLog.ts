/**
 * The shape of a log: where it starts and ends and the term of every entry, kept as runs of
 * equal terms (terms never decrease along a log, so a log of millions of entries has a handful
 * of runs).
 *
 * Invariant: `compacted.index <= last`; runs cover (compacted.index, last] exactly, in order.
 */
export class TermLog {
  #compactedIndex = 0;
  #compactedTerm = 0;
  #last = 0;
  /** Flat pairs: the first index of a run, then its term. */
  #runs: number[] = [];

  get compactedIndex(): number {
    return this.#compactedIndex;
  }

  get compactedTerm(): number {
    return this.#compactedTerm;
  }

  get lastIndex(): number {
    return this.#last;
  }

  /** The term of entry `i`, or undefined if `i` is outside [compacted.index, last]. */
  term(i: number): number | undefined {
    if (i === this.#compactedIndex) return this.#compactedTerm;
    if (i < this.#compactedIndex || i > this.#last) return undefined;
    const runs = this.#runs;
    let lo = 0;
    let hi = runs.length / 2 - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (runs[mid * 2]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return runs[lo * 2 + 1];
  }

  /** Appends entry `index`, which must be `lastIndex + 1`. */
  append(index: number, term: number): void {
    if (index !== this.#last + 1) throw new Error(`TermLog: append of ${index} after ${this.#last}`);
    const n = this.#runs.length;
    if (n === 0 || this.#runs[n - 1] !== term) this.#runs.push(index, term);
    this.#last = index;
  }

  /** Removes the entries after `after`, which must be within [compacted.index, last]. */
  truncate(after: number): void {
    if (after < this.#compactedIndex || after > this.#last) {
      throw new Error(`TermLog: truncate after ${after} outside [${this.#compactedIndex}, ${this.#last}]`);
    }
    while (this.#runs.length > 0 && this.#runs[this.#runs.length - 2]! > after) this.#runs.length -= 2;
    this.#last = after;
  }

  /** Discards the entries up to and including `index` (which has term `term`); past the end it empties the log. */
  compact(index: number, term: number): void {
    if (index >= this.#last) {
      this.reset(index, term);
      return;
    }
    let drop = 0;
    while (drop + 2 < this.#runs.length && this.#runs[drop + 2]! <= index + 1) drop += 2;
    if (drop > 0) this.#runs.splice(0, drop);
    if (this.#runs.length > 0 && this.#runs[0]! < index + 1) this.#runs[0] = index + 1;
    this.#compactedIndex = index;
    this.#compactedTerm = term;
  }

  /** Empties the log: it now starts after `index`, whose term was `term`. */
  reset(index: number, term: number): void {
    this.#compactedIndex = index;
    this.#compactedTerm = term;
    this.#last = index;
    this.#runs = [];
  }

  clone(): TermLog {
    const c = new TermLog();
    c.#compactedIndex = this.#compactedIndex;
    c.#compactedTerm = this.#compactedTerm;
    c.#last = this.#last;
    c.#runs = [...this.#runs];
    return c;
  }
}
