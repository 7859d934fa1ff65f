import { describe, expect, it } from "vitest";
import { type Clock, TimeoutError } from "../../src/index.js";
import { PendingCalls } from "../../src/node/pendingCalls.js";

/** A clock whose time moves only when the test says, counting the timers started. */
class ManualClock implements Clock {
  t = 0;
  started = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 0;
  now = (): number => this.t;
  monotonic = (): number => this.t;
  setTimeout(fn: () => void, ms: number): object {
    this.started++;
    const id = this.#next++;
    this.#timers.set(id, { at: this.t + ms, fn });
    return { id };
  }
  clearTimeout(h: object): void {
    this.#timers.delete((h as { id: number }).id);
  }
  setInterval(): object {
    throw new Error("not used");
  }
  clearInterval(): void {}
  setImmediate(fn: () => void): void {
    fn();
  }
  get pending(): number {
    return this.#timers.size;
  }
  advance(ms: number): void {
    this.t += ms;
    for (const [id, timer] of [...this.#timers].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at > this.t) break;
      this.#timers.delete(id);
      timer.fn();
    }
  }
}

const settled = async <T>(p: Promise<T>): Promise<string> =>
  p.then(
    (v) => `ok ${String(v)}`,
    (e: Error) => (e instanceof TimeoutError ? "timeout" : e.message),
  );

describe("PendingCalls", () => {
  it("serves many calls with one timer; each still times out at its own deadline", async () => {
    const clock = new ManualClock();
    const calls = new PendingCalls<number>("n1", "the proposal", clock);
    const outcomes = new Map<string, Promise<string>>();
    for (let i = 0; i < 100; i++) {
      outcomes.set(`a${i}`, settled(calls.start(`a${i}`, 1_000, () => {})));
      clock.advance(1);
    }
    expect(clock.started).toBe(1);
    for (let i = 0; i < 100; i += 2) calls.resolve(`a${i}`, i);
    // A shorter deadline made later re-arms the timer for itself.
    outcomes.set("short", settled(calls.start("short", 10, () => {})));
    clock.advance(10);
    expect(await outcomes.get("short")).toBe("timeout");
    clock.advance(1_000 - 110);
    expect(calls.size).toBe(50);
    clock.advance(1);
    expect(calls.size).toBe(49);
    clock.advance(100);
    expect(calls.size).toBe(0);
    for (let i = 0; i < 100; i++)
      expect(await outcomes.get(`a${i}`)).toBe(i % 2 === 0 ? `ok ${i}` : "timeout");
    expect(clock.pending).toBe(0);
  });

  it("drops its timer once no call waits", () => {
    const clock = new ManualClock();
    const calls = new PendingCalls<number>("n1", "the proposal", clock);
    void calls.start("x", 1_000, () => {});
    expect(clock.pending).toBe(1);
    calls.resolve("x", 1);
    expect(clock.pending).toBe(0);
  });

  it("rejects a call at once, with its error, when submitting it throws", async () => {
    const calls = new PendingCalls<number>("n1", "the proposal", new ManualClock());
    const p = calls.start("x", 1_000, () => {
      throw new Error("no leader");
    });
    expect(await settled(p)).toBe("no leader");
    expect(calls.size).toBe(0);
  });
});
