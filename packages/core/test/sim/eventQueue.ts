/** One scheduled event: due at `time` (simulated ms); `seq` breaks ties in scheduling order. */
export interface Scheduled<T> {
  time: number;
  seq: number;
  event: T;
}

/**
 * A priority queue of events ordered by (time, seq): a binary min-heap. Events due at the same
 * time run in the order they were scheduled, so a simulation driven by it is deterministic.
 */
export class EventQueue<T> {
  #heap: Scheduled<T>[] = [];
  #seq = 0;
  #now = 0;

  /** The time of the event popped last (the simulation's current time). */
  get now(): number {
    return this.#now;
  }

  get size(): number {
    return this.#heap.length;
  }

  /** Schedules `event` at absolute time `time`; a time in the past is clamped to now. */
  at(time: number, event: T): void {
    const item: Scheduled<T> = { time: Math.max(time, this.#now), seq: this.#seq++, event };
    const heap = this.#heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = item;
  }

  /** Schedules `event` `delay` ms from now. */
  after(delay: number, event: T): void {
    this.at(this.#now + delay, event);
  }

  /** The due time of the next event, or undefined when the queue is empty. */
  peekTime(): number | undefined {
    return this.#heap[0]?.time;
  }

  /** Removes and returns the next event, advancing `now` to its time. */
  pop(): Scheduled<T> | undefined {
    const heap = this.#heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const child = r < n && before(heap[r]!, heap[l]!) ? r : l;
        if (!before(heap[child]!, last)) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    this.#now = top.time;
    return top;
  }
}

function before<T>(a: Scheduled<T>, b: Scheduled<T>): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
