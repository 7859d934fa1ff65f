import { freeze } from "immer";
import { describe, expect, it } from "vitest";
import { runBatch } from "../src/runBatch.js";

describe("the state after a batch (raftkit's immer, without strict iteration)", () => {
  it("is frozen all the way down, new values and the objects they changed alike", () => {
    const before = freeze(
      { byKey: { a: { n: 1 } } as Record<string, { n: number; tags?: string[] }>, items: new Map() },
      true,
    );
    const { state } = runBatch(before, [
      {
        run: (d) => {
          const s = d as typeof before;
          s.byKey.b = { n: 2, tags: ["x"] };
          s.byKey.a!.n = 3;
          s.items.set("k", { deep: { list: [1] } });
        },
      },
    ]);
    const s = state as {
      byKey: Record<string, { n: number; tags: string[] }>;
      items: Map<string, { deep: { list: number[] } }>;
    };
    expect(s.byKey.a!.n).toBe(3);
    for (const v of [s, s.byKey, s.byKey.a, s.byKey.b, s.byKey.b!.tags, s.items, s.items.get("k")!.deep.list])
      expect(Object.isFrozen(v)).toBe(true);
    expect(() => {
      s.byKey.b!.n = 9;
    }).toThrow();
    expect(() => s.items.set("k2", { deep: { list: [] } })).toThrow();
    expect(before.byKey.a!.n).toBe(1);
  });
});
