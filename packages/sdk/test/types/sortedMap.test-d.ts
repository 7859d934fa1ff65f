import { describe, expectTypeOf, it } from "vitest";
import { defineMachine } from "../../src/defineMachine.js";
import { type ReadonlySortedMap, SortedMap } from "../../src/sortedMap/sortedMap.js";
import type { StateDraft } from "../../src/stateTypes.js";
import type { Queries } from "../../src/types.js";

interface Job {
  state: "queued" | "done";
  tries: number;
  at: Date;
}

const jobs = defineMachine({
  initial: () => ({ jobs: new SortedMap<string, Job>(), plain: new Map<string, Job>() }),
  commands: {
    enqueue(s, arg: { id: string; at: Date }) {
      // The draft is a SortedMap of drafts: set, nested changes, range and first type-check.
      expectTypeOf(s.jobs).toEqualTypeOf<
        SortedMap<string, { state: "queued" | "done"; tries: number; at: Date }>
      >();
      s.jobs.set(arg.id, { state: "queued", tries: 0, at: arg.at });
      const oldest = s.jobs.first();
      if (oldest) oldest[1].tries += 1;
      for (const [, job] of s.jobs.range({ prefix: "a/", limit: 2 })) job.state = "done";
      s.plain.set(arg.id, { state: "queued", tries: 0, at: arg.at });
      return s.jobs.size;
    },
  },
  queries: {
    oldest: (s) => s.jobs.first(),
    page: (s, after: string) => [...s.jobs.range({ from: after, limit: 10 })],
    map: (s) => s.jobs,
  },
});

declare const query: Queries<typeof jobs>;

describe("SortedMap in the state's types", () => {
  it("queries see a ReadonlySortedMap of read-only values, with no writers", () => {
    expectTypeOf(query.oldest).returns.resolves.toEqualTypeOf<
      [string, { readonly state: "queued" | "done"; readonly tries: number; readonly at: Date }] | undefined
    >();
    type Seen = Awaited<ReturnType<typeof query.map>>;
    expectTypeOf<Seen>().toMatchTypeOf<ReadonlySortedMap<string, unknown>>();
    expectTypeOf<Seen>().not.toHaveProperty("set");
    expectTypeOf<Seen>().not.toHaveProperty("delete");
  });

  it("a draft keeps SortedMap (immer's own Draft type would turn it into a Map)", () => {
    expectTypeOf<StateDraft<{ m: SortedMap<number, { a: string[] }> }>>().toEqualTypeOf<{
      m: SortedMap<number, { a: string[] }>;
    }>();
    expectTypeOf<StateDraft<SortedMap<string, number>>>().toHaveProperty("range");
  });
});
