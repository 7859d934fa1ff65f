import { PerformanceObserver } from "node:perf_hooks";

/** What a {@link StallProbe} saw between start and stop. */
export interface Stalls {
  /** The longest gap between two runs of a 1 ms timer: how long the event loop was blocked at most. */
  maxMs: number;
  /** Gaps longer than 50 ms. */
  over50: number;
  /** The longest garbage-collection pause, and all of them together. */
  gcMaxMs: number;
  gcTotalMs: number;
}

/**
 * Measures event-loop stalls: a 1 ms interval timer records the largest gap between its runs,
 * and a performance observer the GC pauses. A timer that fires late by N ms means nothing else
 * (a heartbeat, a peer message, a client answer) could run on this thread for N ms.
 */
export class StallProbe {
  #last = 0;
  #stalls: Stalls = { maxMs: 0, over50: 0, gcMaxMs: 0, gcTotalMs: 0 };
  #timer: ReturnType<typeof setInterval> | null = null;
  readonly #gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      this.#stalls.gcMaxMs = Math.max(this.#stalls.gcMaxMs, e.duration);
      this.#stalls.gcTotalMs += e.duration;
    }
  });

  start(): void {
    this.#stalls = { maxMs: 0, over50: 0, gcMaxMs: 0, gcTotalMs: 0 };
    this.#last = performance.now();
    this.#gc.observe({ entryTypes: ["gc"] });
    this.#timer = setInterval(() => {
      const now = performance.now();
      const gap = now - this.#last;
      this.#last = now;
      if (gap > this.#stalls.maxMs) this.#stalls.maxMs = gap;
      if (gap > 50) this.#stalls.over50++;
    }, 1);
  }

  stop(): Stalls {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    // The gap still open counts too: a stall that lasts until stop().
    this.#stalls.maxMs = Math.max(this.#stalls.maxMs, performance.now() - this.#last);
    this.#gc.disconnect();
    return { ...this.#stalls };
  }
}
