import { current, enableMapSet, isDraft, produce } from "immer";
import { describe, expect, it } from "vitest";
import { type BatchStep, runBatch } from "../src/runBatch.js";
import type { StoredResult } from "../src/session.js";

enableMapSet();

type S = { n: number; items: Map<string, number>; log: string[] };

/** A step that changes the draft, then throws if told to (after its partial change). */
function step(i: number, fails: boolean): BatchStep {
  return {
    run(d) {
      const s = d as S;
      s.n += i;
      s.items.set(`k${i % 5}`, i);
      s.log.push(`s${i}`);
      if (fails) throw new RangeError(`step ${i} fails`);
      return s.items;
    },
  };
}

/** The reference semantics: one produce per step. */
function oneByOne(state: S, steps: BatchStep[]): { state: S; results: StoredResult[] } {
  const results: StoredResult[] = [];
  for (const st of steps) {
    try {
      let value: unknown;
      state = produce(state, (d) => {
        const r = st.run(d);
        value = isDraft(r) ? current(r) : r;
      });
      results.push({ ok: true, value });
    } catch (e) {
      results.push({ ok: false, name: (e as Error).name, message: (e as Error).message });
    }
  }
  return { state, results };
}

describe("runBatch", () => {
  it("gives exactly the state and results of one produce per step, whatever steps throw", () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 200; round++) {
      const steps = Array.from({ length: 1 + Math.floor(rand() * 12) }, (_, i) => step(i + 1, rand() < 0.25));
      const base: S = { n: 0, items: new Map(), log: [] };
      const expected = oneByOne(base, steps);
      const got = runBatch(base, steps);
      expect(got.results).toEqual(expected.results);
      expect(got.state).toEqual(expected.state);
    }
  });

  it("leaves no trace of a step that throws, and the base state untouched", () => {
    const base: S = { n: 0, items: new Map(), log: [] };
    const { state, results } = runBatch(base, [step(1, false), step(2, true), step(3, false)]);
    expect((state as S).log).toEqual(["s1", "s3"]);
    expect((state as S).n).toBe(4);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(base.log).toEqual([]);
  });
});
