import { describe, expect, it } from "vitest";
import type { CommandOutcome } from "../src/commandLog.js";
import { defineMachine } from "../src/defineMachine.js";
import { ReplicatedMachine } from "../src/replicatedMachine.js";
import { commandEntries } from "./commandEntries.js";

class Money {
  constructor(readonly cents: number) {}
}

const store = defineMachine({
  initial: () => ({
    n: 0,
    items: [] as unknown[],
    byKey: new Map<unknown, unknown>(),
    tags: new Set<unknown>(),
    nested: { deep: { list: [{ ok: true }] as unknown[] } },
  }),
  commands: {
    add(s, by: number) {
      s.n += by;
      return s.n;
    },
    putFunction(s) {
      s.n += 100;
      s.nested.deep.list.push({ callback: () => 1 });
    },
    putInstance(s, key: string) {
      s.byKey.set(key, new Money(5));
    },
    putFunctionKey(s) {
      s.byKey.set(() => 0, 1);
    },
    putInstanceKey(s) {
      s.byKey.set(new Money(1), 1);
    },
    putSymbol(s) {
      s.items.push(Symbol("x"));
    },
    tagFunction(s) {
      s.tags.add(() => 0);
    },
    putThenRemove(s) {
      (s as unknown as Record<string, unknown>).tmp = () => 0;
      delete (s as unknown as Record<string, unknown>).tmp;
      return "fine";
    },
    removeItems(s) {
      s.items.length = 0;
    },
    putPlain(s, v: unknown) {
      s.items.push(v);
    },
  },
  queries: { n: (s) => s.n },
});

/** The next entry of the log (a new session, seq 1). */
const entry = commandEntries();

const summary = (outs: CommandOutcome[]) =>
  outs.map((o) =>
    o.result.ok ? { ok: true } : { ok: false, code: o.result.code, message: o.result.message },
  );

describe("defineMachine refuses reducers that cannot be run safely", () => {
  const refuses = (commands: Record<string, unknown>, message: RegExp) =>
    expect(() =>
      defineMachine({ initial: () => ({}), commands } as unknown as Parameters<typeof defineMachine>[0]),
    ).toThrow(message);

  it("an async reducer, a generator or an async generator, naming the command", () => {
    refuses({ load: async () => {} }, /command "load" is an async function: reducers must be synchronous/);
    refuses({ each: function* () {} }, /command "each" is a generator/);
    refuses({ stream: async function* () {} }, /command "stream" is a generator/);
    expect(() =>
      defineMachine({
        initial: () => ({}),
        commands: {},
        queries: { slow: async () => 1 } as never,
      }),
    ).toThrow(/query "slow" is an async function/);
  });

  it("more parameters than raftkit passes, and an input that is not a Standard Schema", () => {
    refuses(
      { two: (_s: unknown, _a: unknown, _ctx: unknown, _b: unknown) => 0 },
      /command "two" declares 4 parameters/,
    );
    expect(() =>
      defineMachine({
        initial: () => ({}),
        commands: {},
        queries: { q: ((_s: unknown, _a: unknown, _b: unknown) => 0) as never },
      }),
    ).toThrow(/query "q" declares 3 parameters; a query is \(state, arg\)/);
    refuses({ bad: { input: { parse: () => 0 }, run: () => 0 } }, /input must be a Standard Schema/);
  });
});

describe("a reducer that puts what a snapshot cannot encode into the state", () => {
  it("fails that command with NOT_SERIALIZABLE naming it and the path; the state is rolled back, later commands run", () => {
    const m = new ReplicatedMachine(store, 60_000);
    const outs = m.applyNow([
      entry("add", 1),
      entry("putFunction"),
      entry("putInstance", "eur"),
      entry("putFunctionKey"),
      entry("putSymbol"),
      entry("tagFunction"),
      entry("add", 2),
      entry("putInstanceKey"),
    ]);
    const results = summary(outs);
    expect(results[0]).toEqual({ ok: true });
    expect(results[6]).toEqual({ ok: true });
    for (const r of results.slice(1, 6)) expect(r).toMatchObject({ ok: false, code: "NOT_SERIALIZABLE" });
    expect(results[1]!.message).toMatch(
      /command "putFunction" put a function into the state at nested\.deep\.list\.1\.callback/,
    );
    expect(results[2]!.message).toMatch(
      /"putInstance" put an instance of Money into the state at byKey\.eur/,
    );
    expect(results[3]!.message).toMatch(/"putFunctionKey" put a function key/);
    expect(results[4]!.message).toMatch(/"putSymbol" put a symbol into the state at items\.0/);
    expect(results[5]!.message).toMatch(/"tagFunction" put a function into the state at tags/);
    expect(results[7]!.message).toMatch(/"putInstanceKey" put an instance of Money into the state at byKey/);
    const state = m.state as {
      n: number;
      items: unknown[];
      byKey: Map<unknown, unknown>;
      tags: Set<unknown>;
    };
    expect(state.n).toBe(3);
    expect(state.items).toEqual([]);
    expect(state.byKey.size).toBe(0);
    expect(state.tags.size).toBe(0);
    // The snapshot encodes, and a restored node reaches the same state.
    const restored = new ReplicatedMachine(store, 60_000);
    restored.restoreNow(m.snapshotNow());
    expect(restored.state).toEqual(m.state);
  });

  it("gives the same outcomes whether the entries are applied together or one by one", () => {
    const log = [
      entry("putPlain", { a: 1 }),
      entry("putThenRemove"),
      entry("putSymbol"),
      entry("removeItems"),
      entry("putFunction"),
      entry("putPlain", new Date(5)),
      entry("putInstance", "x"),
      entry("add", 4),
    ];
    const together = new ReplicatedMachine(store, 60_000);
    const a = summary(together.applyNow(log));
    const alone = new ReplicatedMachine(store, 60_000);
    const b = log.flatMap((e) => summary(alone.applyNow([e])));
    expect(a).toEqual(b);
    expect(together.state).toEqual(alone.state);
    expect(a.map((r) => r.ok)).toEqual([true, true, false, true, false, true, false, true]);
  });

  it("fails that command even when a later command of its batch removes what it put (outcomes never depend on batching)", () => {
    const log = [entry("add", 1), entry("putSymbol"), entry("removeItems"), entry("add", 2)];
    const together = new ReplicatedMachine(store, 60_000);
    const a = summary(together.applyNow(log));
    const alone = new ReplicatedMachine(store, 60_000);
    const b = log.flatMap((e) => summary(alone.applyNow([e])));
    expect(a).toEqual(b);
    expect(a.map((r) => r.ok)).toEqual([true, false, true, true]);
    expect(together.state).toEqual(alone.state);
  });

  it("refuses an initial state a snapshot could not encode when the node starts", () => {
    const bad = defineMachine({ initial: () => ({ f: () => 0 }), commands: {} });
    expect(() => new ReplicatedMachine(bad, 60_000)).toThrow(/initial state .* cannot be encoded/);
  });
});
