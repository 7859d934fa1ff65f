import type { Scheduler } from "./scheduler.js";

/** The run's trace: the last `capacity` lines, each stamped with simulated time; all of them go to `onLine` if given. */
export class TraceLog {
  readonly #sched: Scheduler;
  readonly #capacity: number;
  readonly #onLine: ((line: string) => void) | undefined;
  #ring: string[] = [];
  #next = 0;

  constructor(sched: Scheduler, capacity: number, onLine?: (line: string) => void) {
    this.#sched = sched;
    this.#capacity = Math.max(1, capacity);
    this.#onLine = onLine;
  }

  add(line: string): void {
    const stamped = `[${this.#sched.now.toFixed(1).padStart(8)} ms] ${line}`;
    this.#onLine?.(stamped);
    if (this.#ring.length < this.#capacity) this.#ring.push(stamped);
    else this.#ring[this.#next] = stamped;
    this.#next = (this.#next + 1) % this.#capacity;
  }

  /** The kept lines, oldest first. */
  lines(): string[] {
    if (this.#ring.length < this.#capacity) return [...this.#ring];
    return [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)];
  }
}
