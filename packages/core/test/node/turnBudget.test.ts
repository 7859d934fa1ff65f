import { describe, expect, it } from "vitest";
import { TurnBudget } from "../../src/node/clock.js";

/** A clock whose time moves only when the test says so; setImmediate is the process's. */
function manualClock() {
  const clock = { now: 0, monotonic: () => clock.now, setImmediate: (fn: () => void) => setImmediate(fn) };
  return clock;
}

const aTurn = () => new Promise((r) => setImmediate(r));

describe("TurnBudget", () => {
  it("is used once work has held the event loop for the budget", async () => {
    const clock = manualClock();
    const budget = new TurnBudget(clock, 10);
    clock.now += 9;
    expect(budget.used()).toBe(false);
    clock.now += 1;
    expect(budget.used()).toBe(true);
    await budget.nextTurn();
    expect(budget.used()).toBe(false);
  });

  it("starts again when the work let the event loop run meanwhile (awaiting I/O, say)", async () => {
    const clock = manualClock();
    const budget = new TurnBudget(clock, 10);
    clock.now += 50;
    await aTurn();
    expect(budget.used()).toBe(false);
    clock.now += 9;
    expect(budget.used()).toBe(false);
    clock.now += 1;
    expect(budget.used()).toBe(true);
  });
});
