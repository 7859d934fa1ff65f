import type { Clock } from "@raftkit/core";

/**
 * How long a slice runs at most, in ms of the clock's monotonic time. A simulation's clock does
 * not move while code runs, so there slices end by {@link SLICE_UNITS} alone, and take the same
 * turns on every run of a seed.
 */
export const SLICE_MS = 2;
/** Work units a slice may spend at most: one unit is one value, or 64 bytes of a string. */
export const SLICE_UNITS = 10_000;
/** Spends between two looks at the clock. */
const CHECK_EVERY = 32;

/**
 * Splits long work into slices, each on its own turn of the event loop, so that timers, peer
 * messages and clients get the thread between them. The work counts what it does with
 * {@link spend} and, when that says the slice is used up, awaits {@link next}.
 */
export class Slicer {
  readonly #clock: Pick<Clock, "setImmediate" | "monotonic">;
  readonly #units: number;
  #left: number;
  #untilCheck = CHECK_EVERY;
  #started: number;

  constructor(clock: Pick<Clock, "setImmediate" | "monotonic">, units = SLICE_UNITS) {
    this.#clock = clock;
    this.#units = units;
    this.#left = units;
    this.#started = clock.monotonic();
  }

  /** Counts `units` of work done; true when this slice is used up (by units, or by time). */
  spend(units: number): boolean {
    this.#left -= units;
    if (this.#left <= 0) return true;
    if (--this.#untilCheck > 0) return false;
    this.#untilCheck = CHECK_EVERY;
    return this.#clock.monotonic() - this.#started >= SLICE_MS;
  }

  /** Resolves on a later turn, with a fresh slice. */
  next(): Promise<void> {
    return new Promise((resolve) =>
      this.#clock.setImmediate(() => {
        this.#left = this.#units;
        this.#untilCheck = CHECK_EVERY;
        this.#started = this.#clock.monotonic();
        resolve();
      }),
    );
  }
}

/** Units for a string of `length` characters (or bytes): one, plus one per 64. */
export const stringUnits = (length: number): number => 1 + (length >> 6);
