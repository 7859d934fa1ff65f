import type { Clock, TimerHandle } from "@raftkit/core";
import type { Scheduler, SimProcess, Task } from "./scheduler.js";

/** Simulated time 0 as wall-clock time: 2025-01-01. */
export const EPOCH_MS = 1_735_689_600_000;

/** A timer handle: the task now scheduled (an interval re-arms with a new one). */
interface SimTimer {
  task: Task | null;
  stopped: boolean;
}

/**
 * One node incarnation's view of the simulated scheduler. Its rate (within 1%) scales both
 * clocks and timers, its wall clock has its own offset and may jump, and its monotonic clock
 * keeps counting through a pause. Timers are owned by the node's process: a pause holds them,
 * a crash drops them, and a clock of an ended incarnation schedules nothing.
 */
export class NodeClock implements Clock {
  readonly #sched: Scheduler;
  readonly #proc: SimProcess;
  readonly #generation: number;
  readonly #rate: number;
  #wallOffset: number;
  readonly #monoOrigin: number;

  constructor(
    sched: Scheduler,
    proc: SimProcess,
    o: { rate: number; wallOffset: number; monoOrigin: number },
  ) {
    this.#sched = sched;
    this.#proc = proc;
    this.#generation = proc.generation;
    this.#rate = o.rate;
    this.#wallOffset = o.wallOffset;
    this.#monoOrigin = o.monoOrigin;
  }

  /** Moves the wall clock by `ms` (NTP step, VM resume); timers and monotonic time are unaffected. */
  jump(ms: number): void {
    this.#wallOffset += ms;
  }

  now(): number {
    return Math.floor(EPOCH_MS + this.#wallOffset + this.#sched.now * this.#rate);
  }

  monotonic(): number {
    return this.#monoOrigin + this.#sched.now * this.#rate;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: SimTimer = { task: null, stopped: false };
    t.task = this.#schedule(ms, () => {
      t.stopped = true;
      fn();
    });
    return t;
  }

  clearTimeout(handle: TimerHandle): void {
    const t = handle as SimTimer;
    t.stopped = true;
    if (t.task) t.task.cancelled = true;
  }

  /** Re-armed after each run, as Node does: after a pause it fires once and does not catch up. */
  setInterval(fn: () => void, ms: number): TimerHandle {
    const t: SimTimer = { task: null, stopped: false };
    const arm = (): void => {
      t.task = this.#schedule(ms, () => {
        if (t.stopped) return;
        arm();
        fn();
      });
    };
    arm();
    return t;
  }

  clearInterval(handle: TimerHandle): void {
    this.clearTimeout(handle);
  }

  setImmediate(fn: () => void): void {
    this.#schedule(0, fn);
  }

  #schedule(ms: number, fn: () => void): Task | null {
    if (this.#proc.generation !== this.#generation) return null;
    const delay = Math.max(0, Number.isFinite(ms) ? ms : 0) / this.#rate;
    return this.#sched.at(this.#sched.now + delay, fn, this.#proc, this.#generation);
  }
}
