import { openSync, readSync } from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";

/** What a {@link StallProbe} saw between start and stop. */
export interface Stalls {
  /** The longest gap between two runs of a 1 ms timer: how long the event loop was blocked at most. */
  maxMs: number;
  /**
   * The most CPU time the main thread used within one gap (Linux schedstat; elsewhere the whole
   * process's): what the code itself held the loop for.
   * On a busy machine a gap also holds the time the process waited for a core, so it can be
   * much longer than this.
   */
  maxCpuMs: number;
  /** Gaps longer than 50 ms. */
  over50: number;
  /** The longest garbage-collection pause, and all of them together. */
  gcMaxMs: number;
  gcTotalMs: number;
  /** The longest gaps (up to 5), as [start, end] on the clock of CPU profiles (µs), to look them up in one. */
  longest: [number, number][];
}

const empty = (): Stalls => ({ maxMs: 0, maxCpuMs: 0, over50: 0, gcMaxMs: 0, gcTotalMs: 0, longest: [] });

/**
 * Measures event-loop stalls: a 1 ms interval timer records the largest gap between its runs
 * and the CPU time spent in it, and a performance observer the GC pauses. A timer that fires
 * late by N ms means nothing else (a heartbeat, a peer message, a client answer) could run on
 * this thread for N ms.
 */
export class StallProbe {
  #last = 0;
  #lastCpu = 0;
  #stalls = empty();
  #timer: ReturnType<typeof setInterval> | null = null;
  readonly #gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      this.#stalls.gcMaxMs = Math.max(this.#stalls.gcMaxMs, e.duration);
      this.#stalls.gcTotalMs += e.duration;
    }
  });

  start(): void {
    this.#stalls = empty();
    this.#last = performance.now();
    this.#lastCpu = cpuMs();
    this.#gc.observe({ entryTypes: ["gc"] });
    this.#timer = setInterval(() => {
      const now = performance.now();
      const cpu = cpuMs();
      const gap = now - this.#last;
      const s = this.#stalls;
      s.maxMs = Math.max(s.maxMs, gap);
      s.maxCpuMs = Math.max(s.maxCpuMs, cpu - this.#lastCpu);
      if (gap > 50) s.over50++;
      if (gap > 20) this.#note(gap);
      this.#last = now;
      this.#lastCpu = cpu;
    }, 1);
  }

  /** Keeps the 5 longest gaps, in the time base of `node --cpu-prof` (µs since an arbitrary origin). */
  #note(gap: number): void {
    const end = Number(process.hrtime.bigint() / 1000n);
    const longest = this.#stalls.longest;
    longest.push([end - Math.round(gap * 1000), end]);
    longest.sort((a, b) => b[1] - b[0] - (a[1] - a[0]));
    longest.length = Math.min(longest.length, 5);
  }

  stop(): Stalls {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    // The gap still open counts too: a stall that lasts until stop().
    this.#stalls.maxMs = Math.max(this.#stalls.maxMs, performance.now() - this.#last);
    this.#stalls.maxCpuMs = Math.max(this.#stalls.maxCpuMs, cpuMs() - this.#lastCpu);
    this.#gc.disconnect();
    return { ...this.#stalls, longest: [...this.#stalls.longest] };
  }
}

/** The main thread's schedstat (Linux: its first field is the ns it ran on a CPU), or null elsewhere. */
const schedstat = (() => {
  try {
    // The main thread's task id is the process id.
    const fd = openSync(`/proc/self/task/${process.pid}/schedstat`, "r");
    return { fd, buf: Buffer.alloc(128) };
  } catch {
    return null;
  }
})();

/**
 * CPU time of the main thread so far, in ms: what held the event loop, without the GC's helper
 * threads and the thread pool (fs writes), which run beside it. Where schedstat is missing, the
 * whole process's CPU time (user and system, all threads).
 */
function cpuMs(): number {
  if (schedstat) {
    const n = readSync(schedstat.fd, schedstat.buf, 0, schedstat.buf.length, 0);
    const text = schedstat.buf.toString("latin1", 0, n);
    return Number(text.slice(0, text.indexOf(" "))) / 1e6;
  }
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
