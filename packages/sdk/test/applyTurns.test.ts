import type { Entry } from "@raftkit/core";
import { describe, expect, it } from "vitest";
import { encodeValue } from "../src/codec.js";
import type { CommandPayload } from "../src/commandLog.js";
import { defineMachine } from "../src/defineMachine.js";
import { APPLY_TURN_MS, ReplicatedMachine } from "../src/replicatedMachine.js";

const kv = defineMachine({
  initial: () => ({ data: new Map<string, number>(), log: [] as number[] }),
  commands: {
    put(s, arg: { key: string; value: number }) {
      if (arg.value % 97 === 13) throw new Error(`refused ${arg.value}`);
      s.data.set(arg.key, arg.value);
      if (arg.value % 50 === 0) s.log.push(arg.value);
      return s.data.size;
    },
  },
  queries: {},
});

/** A log of puts from a few sessions, with refused puts and retries of earlier commands among them. */
function log(n: number): Entry[] {
  const entries: Entry[] = [];
  const seqs = [0, 0, 0];
  for (let i = 1; i <= n; i++) {
    const session = i % 3;
    // Every 40th entry repeats its session's last command (a client's retry).
    const seq = i % 40 === 0 ? seqs[session]! : ++seqs[session]!;
    const payload: CommandPayload = {
      name: "put",
      arg: { key: `k${i % 300}`, value: i },
      session: `s${session}`,
      seq,
      lowest: Math.max(1, seq - 5),
      at: i,
    };
    entries.push({ index: i, term: 1, type: "normal", data: encodeValue(payload, "a test command") });
  }
  return entries;
}

/** A clock on which every look takes a turn's budget, and that counts the turns it was asked for. */
function busyClock() {
  let now = 0;
  const clock = {
    turns: 0,
    monotonic: () => (now += APPLY_TURN_MS),
    setImmediate: (fn: () => void) => {
      clock.turns++;
      setImmediate(fn);
    },
  };
  return clock;
}

describe("apply lets the event loop run between drafts", () => {
  it("gives the outcomes, state and snapshot of applying at once and of applying one by one", async () => {
    const entries = log(1_500);
    const clock = busyClock();
    const sliced = new ReplicatedMachine(kv, 60_000, { clock });
    const atOnce = new ReplicatedMachine(kv, 60_000);
    const oneByOne = new ReplicatedMachine(kv, 60_000);
    const order: number[] = [];
    sliced.onCommand = (o) => order.push(o.index);

    const outcomes = await sliced.apply(entries);
    expect(clock.turns).toBeGreaterThanOrEqual(3);
    expect(outcomes).toEqual(atOnce.applyNow(entries));
    expect(outcomes).toEqual(entries.map((e) => oneByOne.applyNow([e])[0]));
    expect(outcomes.filter((o) => !o.result.ok).length).toBeGreaterThan(10);
    expect(outcomes.filter((o) => o.duplicate).length).toBeGreaterThan(10);
    // Answers go out in log order.
    const fresh = outcomes.filter((o) => !o.duplicate).map((o) => o.index);
    expect(order.filter((i) => fresh.includes(i))).toEqual(fresh);
    expect(sliced.state).toEqual(atOnce.state);
    expect(Buffer.from(sliced.snapshotNow()).equals(Buffer.from(atOnce.snapshotNow()))).toBe(true);
  });

  it("keeps the state of before the batch while the batch is still running", async () => {
    const clock = busyClock();
    const m = new ReplicatedMachine(kv, 60_000, { clock });
    await m.apply(log(10));
    const before = m.state;
    const seen: unknown[] = [];
    const original = clock.setImmediate;
    clock.setImmediate = (fn) => {
      seen.push(m.state);
      original(fn);
    };
    const applying = m.apply(log(1_000).slice(10));
    expect(m.state).toBe(before);
    await applying;
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((s) => s === before)).toBe(true);
    expect(m.state).not.toBe(before);
  });

  it("runs a batch of one draft on one turn", async () => {
    const clock = busyClock();
    const m = new ReplicatedMachine(kv, 60_000, { clock });
    // Under 40 entries: no retry among them, so one draft.
    await m.apply(log(39));
    expect(clock.turns).toBe(0);
  });
});
