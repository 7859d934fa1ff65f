import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type Clock,
  type Entry,
  MemoryNetwork,
  MemoryStorage,
  RaftNode,
  SeededRandom,
  type StateMachine,
  systemClock,
} from "../../src/index.js";
import { LOOP_TURN_MS } from "../../src/node/readyLoop.js";
import { advanceUntil, settleInSimulatedTime, useSimulatedTime } from "../../src/testing/index.js";
import { encode } from "./runtimeHarness.js";

beforeEach(useSimulatedTime);

afterEach(() => {
  vi.useRealTimers();
});

/** A counter whose every apply takes `costMs` of its clock (a large state's copy, say). */
class SlowCounter implements StateMachine {
  total = 0;
  applies = 0;
  constructor(
    readonly clock: { spent: number },
    readonly costMs: number,
  ) {}
  apply(entries: readonly Entry[]): unknown[] {
    this.applies++;
    this.clock.spent += this.costMs;
    return entries.map((e) => {
      this.total += Number(new TextDecoder().decode(e.data));
      return this.total;
    });
  }
  snapshot(): Uint8Array {
    return new Uint8Array();
  }
  restore(): void {}
}

/** A lone bootstrapping node "a" running `stateMachine` (on `clock`, if given). */
function loneNode(stateMachine: StateMachine, clock?: Clock): Promise<RaftNode> {
  return RaftNode.start({
    id: "a",
    storage: new MemoryStorage(),
    transport: new MemoryNetwork().transport("a"),
    stateMachine,
    peers: { a: "mem://a" },
    bootstrap: true,
    tickMs: 10,
    random: new SeededRandom(1),
    ...(clock && { clock }),
  });
}

async function slowNode(costMs: number) {
  const spent = { spent: 0 };
  // The simulated clock does not move while code runs: the machine's cost is added to it.
  const clock: Clock = { ...systemClock, monotonic: () => systemClock.monotonic() + spent.spent };
  const machine = new SlowCounter(spent, costMs);
  const node = await loneNode(machine, clock);
  await advanceUntil(() => node.status().role === "leader", 5_000, "leader election");
  return { node, machine };
}

/**
 * A client in this process: proposes again as soon as its last proposal is answered. After the
 * first answer it queues a timer (setImmediate), and records how many applies ran before the
 * timer could, counted from the first answer.
 */
async function eagerClient(node: RaftNode, machine: SlowCounter, n: number) {
  const answers: unknown[] = [];
  let appliesBeforeTimer = -1;
  for (let i = 1; i <= n; i++) {
    answers.push((await node.propose(encode(i))).result);
    if (i === 1) {
      const first = machine.applies;
      setImmediate(() => {
        appliesBeforeTimer = machine.applies - first;
      });
    }
  }
  return { answers, appliesBeforeTimer: () => appliesBeforeTimer };
}

/** What 1 + 2 + … gives after each of `n` proposals, applied one by one. */
const runningTotals = (n: number) => Array.from({ length: n }, (_, i) => ((i + 1) * (i + 2)) / 2);

describe("the runtime's loop", () => {
  it("lets the event loop run between Readys once it has held it for a turn's budget", async () => {
    const { node, machine } = await slowNode(LOOP_TURN_MS / 2 + 1);
    const client = await settleInSimulatedTime(eagerClient(node, machine, 20));
    // Two applies fill a turn's budget; without the yield all 19 after the first ran before the timer.
    expect(client.appliesBeforeTimer()).toBeGreaterThanOrEqual(0);
    expect(client.appliesBeforeTimer()).toBeLessThanOrEqual(2);
    // Order and outcomes are those of applying one by one.
    expect(client.answers).toEqual(runningTotals(20));
    await settleInSimulatedTime(node.stop());
  });

  it("does not yield while Readys are cheap", async () => {
    const { node, machine } = await slowNode(0);
    const client = await settleInSimulatedTime(eagerClient(node, machine, 20));
    expect(client.appliesBeforeTimer()).toBe(19);
    expect(client.answers).toEqual(runningTotals(20));
    await settleInSimulatedTime(node.stop());
  });

  it("reports an entry applied once the state machine's apply of it has settled", async () => {
    const seen: { index: number; applied: number }[] = [];
    let node: RaftNode | null = null;
    const machine: StateMachine = {
      async apply(entries) {
        const applied = node!.status().applied;
        // A state machine that lets the event loop run while it applies (a large batch).
        await new Promise((r) => setImmediate(r));
        for (const e of entries) seen.push({ index: e.index, applied });
        return entries.map(() => null);
      },
      snapshot: () => new Uint8Array(),
      restore() {},
    };
    node = await loneNode(machine);
    await advanceUntil(() => node!.status().role === "leader", 5_000, "leader election");
    await settleInSimulatedTime(node.propose(encode(1)));
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen) expect(s.applied).toBeLessThan(s.index);
    expect(node.status().applied).toBeGreaterThanOrEqual(seen.at(-1)!.index);
    await settleInSimulatedTime(node.stop());
  });
});
