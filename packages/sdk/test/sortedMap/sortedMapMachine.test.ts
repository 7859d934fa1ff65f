import type { Entry } from "@raftkit/core";
import { freeze } from "immer";
import { describe, expect, it } from "vitest";
import { defineMachine } from "../../src/defineMachine.js";
import { drafts } from "../../src/drafts.js";
import { ReplicatedMachine } from "../../src/replicatedMachine.js";
import { SortedMap } from "../../src/sortedMap/sortedMap.js";
import { assertChangesEncodable } from "../../src/stateChanges.js";
import { commandEntries } from "../commandEntries.js";

/** A machine keeping its values in a SortedMap, with reducers that put what a snapshot cannot hold. */
const store = defineMachine({
  initial: () => ({ m: new SortedMap<string, unknown>() }),
  commands: {
    put(s, a: { key: string; n: number }) {
      s.m.set(a.key, { n: a.n, list: [] as unknown[] });
    },
    bump(s, key: string) {
      (s.m.get(key) as { n: number }).n++;
    },
    putFunction(s, key: string) {
      s.m.set(key, () => 1);
    },
    /** Changes a value in place: in a shared draft, the very object an earlier command put there. */
    pushFunction(s, key: string) {
      (s.m.get(key) as { list: unknown[] }).list.push(() => 2);
    },
    putAndFix(s, key: string) {
      // Only what the state holds when the reducer returns counts.
      s.m.set(key, () => 3);
      s.m.set(key, { n: 0, list: [] });
    },
  },
  queries: {},
});

const entry = commandEntries();

describe("the check of what reducers put into a SortedMap", () => {
  const script = (): Entry[] => [
    entry("put", { key: "a", n: 1 }),
    entry("putFunction", "b"),
    entry("bump", "a"),
    entry("pushFunction", "a"),
    entry("put", { key: "c", n: 3 }),
    entry("putAndFix", "d"),
    ...Array.from({ length: 300 }, (_, i) => entry("put", { key: `k${i % 120}`, n: i })),
    entry("pushFunction", "k7"),
  ];

  it("fails the command that put a function in, by path, in one batch or one command at a time alike", () => {
    const entries = script();
    const batched = new ReplicatedMachine(store, 60_000).applyNow(entries);
    const single = new ReplicatedMachine(store, 60_000);
    const oneByOne = entries.map((e) => single.applyNow([e])[0]!);
    const results = (outcomes: typeof batched) => outcomes.map((o) => o.result);
    expect(results(batched)).toEqual(results(oneByOne));
    const failed = batched.flatMap((o, i) => (o.result.ok ? [] : [[i, o.result.message] as const]));
    expect(failed).toEqual([
      [1, expect.stringContaining('command "putFunction" put a function into the state at m.b,')],
      [3, expect.stringContaining('command "pushFunction" put a function into the state at m.a.list.0,')],
      [306, expect.stringContaining('command "pushFunction" put a function into the state at m.k7.list.0,')],
    ]);
  });
});

describe("moving a Map into a SortedMap in a migration", () => {
  it("keeps every entry, its values changeable in the same draft, and checks them", () => {
    const before = freeze(
      {
        jobs: new Map([
          ["b", { n: 2 }],
          ["a", { n: 1 }],
        ]),
      },
      true,
    );
    const after = drafts.produce(before, (d) => {
      const jobs = new SortedMap(d.jobs);
      jobs.get("a")!.n = 10;
      (d as unknown as { jobs: SortedMap<string, { n: number }> }).jobs = jobs;
      assertChangesEncodable(d, "migrate(state, 1)");
    }) as unknown as { jobs: SortedMap<string, { n: number }> };
    expect(after.jobs).toBeInstanceOf(SortedMap);
    expect([...after.jobs]).toEqual([
      ["a", { n: 10 }],
      ["b", { n: 2 }],
    ]);
    expect(Object.isFrozen(after.jobs.get("b"))).toBe(true);
    expect(before.jobs.get("a")).toEqual({ n: 1 });
  });
});
