/**
 * The append messages in flight to one follower, as a ring buffer of (last index, bytes).
 * Bounded by a count and optionally by total bytes, so a slow follower cannot make the
 * leader buffer without limit.
 */
export class Inflights {
  readonly #maxCount: number;
  readonly #maxBytes: number;
  #start = 0;
  #count = 0;
  #bytes = 0;
  readonly #index: number[];
  readonly #size: number[];

  /** `maxBytes` 0 means no byte limit. */
  constructor(maxCount: number, maxBytes: number) {
    this.#maxCount = maxCount;
    this.#maxBytes = maxBytes;
    this.#index = new Array<number>(maxCount).fill(0);
    this.#size = new Array<number>(maxCount).fill(0);
  }

  /** Records a message whose last entry is `index`. The caller must check {@link full} first. */
  add(index: number, bytes: number): void {
    if (this.full()) throw new Error("Inflights.add on a full window");
    const at = (this.#start + this.#count) % this.#maxCount;
    this.#index[at] = index;
    this.#size[at] = bytes;
    this.#count++;
    this.#bytes += bytes;
  }

  /** Frees every message whose last index is at most `to` (they were acknowledged). */
  freeLE(to: number): void {
    while (this.#count > 0 && this.#index[this.#start]! <= to) {
      this.#bytes -= this.#size[this.#start]!;
      this.#start = (this.#start + 1) % this.#maxCount;
      this.#count--;
    }
    if (this.#count === 0) this.#start = 0;
  }

  /** Frees the oldest message in flight, if any. */
  freeFirst(): void {
    if (this.#count > 0) this.freeLE(this.#index[this.#start]!);
  }

  full(): boolean {
    return this.#count === this.#maxCount || (this.#maxBytes !== 0 && this.#bytes >= this.#maxBytes);
  }

  get count(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#bytes;
  }

  reset(): void {
    this.#start = 0;
    this.#count = 0;
    this.#bytes = 0;
  }
}
