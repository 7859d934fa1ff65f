/**
 * One simulated scheduler for the whole cluster: a priority queue of callbacks ordered by
 * (time, seq), and the processes that own them. A process can be paused (its callbacks are
 * held and run once, in order, when it resumes) or killed (its callbacks are dropped).
 * Nothing here reads a real clock; the only real primitive is the microtask drain.
 */

/** One node's process, across its incarnations. */
export class SimProcess {
  readonly id: string;
  /** Bumped by a crash: callbacks of an earlier incarnation never run. */
  generation = 0;
  paused = false;
  /** Callbacks that came due while paused, in the order they came due. */
  deferred: Task[] = [];

  constructor(id: string) {
    this.id = id;
  }
}

/** A scheduled callback. `owner` null means the simulation's own (clients, faults, checks). */
export interface Task {
  time: number;
  seq: number;
  fn: () => void;
  owner: SimProcess | null;
  generation: number;
  cancelled: boolean;
}

/** Lets every promise continuation queued so far run, as Node does between two callbacks. */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class Scheduler {
  #heap: Task[] = [];
  #seq = 0;
  #now = 0;
  /** Callbacks run so far. */
  steps = 0;

  /** Simulated time in ms since the start of the run. */
  get now(): number {
    return this.#now;
  }

  /** Schedules `fn` at `time` (clamped to now) on behalf of `owner`. */
  at(
    time: number,
    fn: () => void,
    owner: SimProcess | null = null,
    generation = owner?.generation ?? 0,
  ): Task {
    const task: Task = {
      time: Math.max(time, this.#now),
      seq: this.#seq++,
      fn,
      owner,
      generation,
      cancelled: false,
    };
    this.#push(task);
    return task;
  }

  after(ms: number, fn: () => void, owner: SimProcess | null = null): Task {
    return this.at(this.#now + ms, fn, owner);
  }

  /** Freezes `p` for `ms`: its timers and inbox are held, then run once each on resume. */
  pause(p: SimProcess, ms: number): void {
    if (p.paused) return;
    p.paused = true;
    const generation = p.generation;
    this.after(ms, () => {
      if (p.generation !== generation) return;
      p.paused = false;
      const held = p.deferred;
      p.deferred = [];
      for (const t of held) if (!t.cancelled) this.at(this.#now, t.fn, p, t.generation);
    });
  }

  /** Ends `p`'s incarnation: nothing it scheduled runs any more. */
  kill(p: SimProcess): void {
    p.generation++;
    p.paused = false;
    p.deferred = [];
  }

  /**
   * Runs callbacks due up to `until`, draining microtasks after each, and calls `after` after
   * each one (the invariant checks). Stops early when `after` returns false. A callback that
   * throws is reported to `onError`: no code of the stack may throw out of a timer.
   */
  async runUntil(until: number, after: () => boolean, onError: (e: unknown) => void): Promise<boolean> {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || top.time > until) break;
      const task = this.#pop();
      if (task.cancelled) continue;
      const owner = task.owner;
      if (owner && owner.generation !== task.generation) continue;
      this.#now = task.time;
      if (owner?.paused) {
        owner.deferred.push(task);
        continue;
      }
      this.steps++;
      try {
        task.fn();
      } catch (e) {
        onError(e);
      }
      await drainMicrotasks();
      if (!after()) return false;
    }
    this.#now = Math.max(this.#now, until);
    return true;
  }

  #push(task: Task): void {
    const heap = this.#heap;
    heap.push(task);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(task, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = task;
  }

  #pop(): Task {
    const heap = this.#heap;
    const top = heap[0]!;
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
    return top;
  }
}

function before(a: Task, b: Task): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
