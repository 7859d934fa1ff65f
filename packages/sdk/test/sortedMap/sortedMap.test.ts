import { SeededRandom } from "@raftkit/core";
import { freeze, isDraft } from "immer";
import { describe, expect, it } from "vitest";
import { drafts } from "../../src/drafts.js";
import { compareKeys } from "../../src/sortedMap/keys.js";
import { isWellFormed, MAX_KEYS, type TreeNode } from "../../src/sortedMap/nodes.js";
import { SortedMap, type SortedMapKey } from "../../src/sortedMap/sortedMap.js";

type Fields = { root: TreeNode<unknown>; count: number };
const fieldsOf = (m: SortedMap<SortedMapKey, unknown>) => m as unknown as Fields;
const wellFormed = (m: SortedMap<SortedMapKey, unknown>) => isWellFormed(fieldsOf(m).root, fieldsOf(m).count);
const sorted = <V>(model: Map<SortedMapKey, V>) => [...model].sort(([a], [b]) => compareKeys(a, b));

/** Every node object reachable from `root`. */
function nodesOf(root: TreeNode<unknown>): Set<object> {
  const out = new Set<object>();
  const visit = (n: TreeNode<unknown>) => {
    out.add(n);
    if ("children" in n) for (const c of n.children) visit(c);
  };
  visit(root);
  return out;
}

const keyOf = (rng: SeededRandom, space: number): SortedMapKey =>
  rng.chance(0.3) ? rng.int(space) - (space >> 1) : `k${rng.int(space).toString(36)}`;

describe("SortedMap", () => {
  it("answers like a Map sorted by key, through random sets and deletes (20 seeds)", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rng = new SeededRandom(seed);
      const space = [40, 400, 4000][seed % 3]!;
      const m = new SortedMap<SortedMapKey, number>();
      const model = new Map<SortedMapKey, number>();
      for (let step = 0; step < 3000; step++) {
        const k = keyOf(rng, space);
        if (rng.chance(0.4)) expect(m.delete(k), `seed ${seed} step ${step}`).toBe(model.delete(k));
        else {
          m.set(k, step);
          model.set(k, step);
        }
        expect(m.size).toBe(model.size);
        if (step % 500 === 0) expect(wellFormed(m), `seed ${seed} step ${step}`).toBe(true);
      }
      expect(wellFormed(m)).toBe(true);
      expect([...m]).toEqual(sorted(model));
      for (let i = 0; i < 200; i++) {
        const k = keyOf(rng, space);
        expect(m.get(k)).toBe(model.get(k));
        expect(m.has(k)).toBe(model.has(k));
      }
    }
  });

  it("keeps numbers before strings, numbers by value, -0 as 0, and refuses NaN and other keys", () => {
    const m = new SortedMap<SortedMapKey, string>([
      ["b", "b"],
      [10, "10"],
      ["a", "a"],
      [-0, "zero"],
      [2, "2"],
      ["", "empty"],
    ]);
    expect([...m.keys()]).toEqual([0, 2, 10, "", "a", "b"]);
    expect(Object.is([...m.keys()][0], 0)).toBe(true);
    expect(m.get(0)).toBe("zero");
    expect(() => m.set(Number.NaN, "x")).toThrow(/NaN/);
    expect(() => m.set({} as never, "x")).toThrow(/string or a number, not object/);
    expect(() => m.set(null as never, "x")).toThrow(/not null/);
  });

  it("ranges: from (inclusive), to (exclusive), prefix, limit and reverse, against a sorted model", () => {
    const rng = new SeededRandom(7);
    const m = new SortedMap<SortedMapKey, number>();
    const model = new Map<SortedMapKey, number>();
    const words = ["jobs/", "jobs/a", "jobs/b/1", "jobt", "job", "locks/x", "a", "z\uffff", "z\uffff\uffff"];
    for (const w of words) {
      m.set(w, w.length);
      model.set(w, w.length);
    }
    for (let i = 0; i < 3000; i++) {
      const k = keyOf(rng, 3000);
      m.set(k, i);
      model.set(k, i);
    }
    const all = sorted(model);
    const bounds: (SortedMapKey | undefined)[] = [undefined, "jobs/", "k1", "k", "kzz", 0, -5, 900, "z", ""];
    const prefixes = [undefined, "jobs/", "k1", "k", "z\uffff", "", "nothing"];
    for (const from of bounds)
      for (const to of bounds)
        for (const prefix of prefixes)
          for (const reverse of [false, true])
            for (const limit of [undefined, 0, 3]) {
              const want = all
                .filter(([k]) => from === undefined || compareKeys(k, from) >= 0)
                .filter(([k]) => to === undefined || compareKeys(k, to) < 0)
                .filter(([k]) => prefix === undefined || (typeof k === "string" && k.startsWith(prefix)));
              if (reverse) want.reverse();
              const got = [...m.range({ from, to, prefix, reverse, limit })];
              expect(got, JSON.stringify({ from, to, prefix, reverse, limit })).toEqual(
                want.slice(0, limit ?? want.length),
              );
            }
    expect(m.first()).toEqual(all[0]);
    expect(m.last()).toEqual(all.at(-1));
    expect(new SortedMap().first()).toBeUndefined();
    expect(new SortedMap().last()).toBeUndefined();
  });

  it("in a reducer: changes only a draft, copies only the path to the key, and freezes the result", () => {
    const base = freeze({ data: new SortedMap<string, { n: number }>() }, true);
    let state = drafts.produce(base, (d) => {
      for (let i = 0; i < 10_000; i++) d.data.set(`k${i}`, { n: i });
    });
    expect(base.data.size).toBe(0);
    const before = nodesOf(fieldsOf(state.data).root);
    const next = drafts.produce(state, (d) => {
      d.data.set("k5000", { n: -1 });
      d.data.get("k42")!.n = 42_000;
      expect(isDraft(d.data.get("k7"))).toBe(true);
    });
    const after = nodesOf(fieldsOf(next.data).root);
    const fresh = [...after].filter((n) => !before.has(n));
    // Two leaves and the branches above them; everything else is shared with the old state.
    expect(fresh.length).toBeGreaterThan(0);
    expect(fresh.length).toBeLessThanOrEqual(6);
    expect(state.data.get("k5000")).toEqual({ n: 5000 });
    expect(state.data.get("k42")).toEqual({ n: 42 });
    expect(next.data.get("k5000")).toEqual({ n: -1 });
    expect(next.data.get("k42")).toEqual({ n: 42_000 });
    for (const n of after) expect(Object.isFrozen(n)).toBe(true);
    expect(Object.isFrozen(next.data)).toBe(true);
    expect(Object.isFrozen(next.data.get("k42"))).toBe(true);
    expect(() => next.data.set("x", { n: 1 })).toThrow(/outside a reducer/);
    expect(() => next.data.delete("k1")).toThrow(/outside a reducer/);
    expect(() => next.data.clear()).toThrow(/outside a reducer/);
    // Setting an equal value changes nothing, so immer returns the same state.
    state = next;
    const same = drafts.produce(state, (d) => {
      d.data.set("k1", d.data.get("k1")!);
    });
    expect(same).toBe(state);
  });

  it("in a leaf of numbers: a draft put there (then changed) and a new object are finalized and frozen, numbers read without drafts", () => {
    let state = freeze(
      {
        m: new SortedMap<number, number | { n: number }>(Array.from({ length: 2_000 }, (_, i) => [i, i])),
        other: { n: 1 },
      },
      true,
    );
    state = drafts.produce(state, (d) => {
      expect(d.m.get(10)).toBe(10);
      expect(d.m.has(10) && !d.m.has(-1)).toBe(true);
      d.m.set(11, d.other);
      d.other.n = 2;
      d.m.set(12, { n: 3 });
      d.m.set(13, 130);
      (d.m.get(12) as { n: number }).n = 4;
      expect(d.m.get(13)).toBe(130);
    });
    expect(isDraft(state.m.get(11))).toBe(false);
    expect(state.m.get(11)).toEqual({ n: 2 });
    expect(state.m.get(11)).toBe(state.other);
    expect(state.m.get(12)).toEqual({ n: 4 });
    expect(Object.isFrozen(state.m.get(12))).toBe(true);
    expect([state.m.get(13), state.m.get(14)]).toEqual([130, 14]);
    for (const n of nodesOf(fieldsOf(state.m).root)) {
      expect(Object.isFrozen(n)).toBe(true);
      for (const a of Object.values(n)) expect(Object.isFrozen(a)).toBe(true);
    }
    expect(wellFormed(state.m)).toBe(true);
  });

  it("a map built inside a reducer (splitting as it grows) may take drafts: they are finalized, the map frozen", () => {
    const base = freeze(
      { other: { n: 1 }, built: null as SortedMap<number, number | { n: number }> | null },
      true,
    );
    const next = drafts.produce(base, (d) => {
      const m = new SortedMap<number, number | { n: number }>();
      m.set(-1, d.other);
      for (let i = 0; i < 500; i++) m.set(i, i);
      m.set(1_000, d.other);
      d.other.n = 5;
      d.built = m;
    });
    const built = next.built!;
    expect(built.size).toBe(502);
    expect(isDraft(built.get(-1))).toBe(false);
    expect(built.get(-1)).toEqual({ n: 5 });
    expect(built.get(1_000)).toBe(next.other);
    expect(wellFormed(built)).toBe(true);
    for (const n of nodesOf(fieldsOf(built).root)) expect(Object.isFrozen(n)).toBe(true);
  });

  it("in reducers: random sets, deletes, clears and nested changes agree with a Map model, and old states stay as they were", () => {
    for (let seed = 1; seed <= 18; seed++) {
      // Seeds 1, 4, 7… hold objects (changed through their drafts, immer's way), 2, 5, 8…
      // numbers (changed outside immer, see ownedChanges.ts), 3, 6, 9… numbers and now and then
      // an object, which sends the map from one way to the other.
      const mode = seed % 3;
      const objectsNow = () => mode === 1 || (mode === 0 && rng.chance(0.02));
      const rng = new SeededRandom(seed * 31);
      let state = freeze({ m: new SortedMap<SortedMapKey, { n: number } | number>() }, true);
      let model = new Map<SortedMapKey, number>();
      const history: [typeof state, Map<SortedMapKey, number>][] = [];
      const nOf = (v: { n: number } | number) => (typeof v === "number" ? v : v.n);
      for (let batch = 0; batch < 60; batch++) {
        const next = new Map(model);
        state = drafts.produce(state, (d) => {
          for (let op = 0; op < 1 + rng.int(80); op++) {
            const k = keyOf(rng, 600);
            const r = rng.next();
            if (r < 0.005) {
              d.m.clear();
              next.clear();
            } else if (r < 0.35) expect(d.m.delete(k)).toBe(next.delete(k));
            else if (r < 0.5 && next.has(k)) {
              const v = d.m.get(k)!;
              if (typeof v === "number") d.m.set(k, v + 1);
              else v.n += 1;
              next.set(k, next.get(k)! + 1);
            } else {
              d.m.set(k, objectsNow() ? { n: op } : op);
              next.set(k, op);
            }
          }
        });
        model = next;
        history.push([state, model]);
        expect(wellFormed(state.m), `seed ${seed} batch ${batch}`).toBe(true);
        for (const n of nodesOf(fieldsOf(state.m).root)) {
          expect(Object.isFrozen(n) && Object.values(n).every((a) => Object.isFrozen(a))).toBe(true);
          if ("values" in n)
            for (const v of n.values as unknown[]) expect(!isDraft(v) && Object.isFrozen(v)).toBe(true);
        }
      }
      for (const [s, mod] of history) expect([...s.m].map(([k, v]) => [k, nOf(v)])).toEqual(sorted(mod));
    }
  });

  it("iterates on while a reducer deletes and adds entries, as a Map does", () => {
    const state = freeze(
      { m: new SortedMap<number, number>(Array.from({ length: 500 }, (_, i) => [i * 2, i])) },
      true,
    );
    const seen: number[] = [];
    const next = drafts.produce(state, (d) => {
      for (const [k] of d.m) {
        seen.push(k);
        // Drops the next even key, adds an odd key just ahead of the walk and one behind it.
        d.m.delete(k + 2);
        if (k + 3 < 1000) d.m.set(k + 3, -1);
        if (k > 10) d.m.set(k - 9, -2);
        if (seen.length > 10_000) throw new Error("does not end");
      }
    });
    // What "iterates as a Map does" means in key order: each step visits the smallest key
    // greater than the last one visited, among the keys there now.
    const keys = new Set(Array.from({ length: 500 }, (_, i) => i * 2));
    const want: number[] = [];
    for (let last = -1; ; ) {
      const k = Math.min(...[...keys].filter((x) => x > last));
      if (k === Number.POSITIVE_INFINITY) break;
      want.push(k);
      keys.delete(k + 2);
      if (k + 3 < 1000) keys.add(k + 3);
      if (k > 10) keys.add(k - 9);
      last = k;
    }
    expect(seen).toEqual(want);
    expect([...next.m.keys()]).toEqual([...keys].sort((x, y) => x - y));
    expect(next.m.get(2)).toBe(-2);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
    expect(wellFormed(next.m)).toBe(true);
  });

  it("holds nodes of at most MAX_KEYS keys, and a map of 100,000 entries is 3 levels deep", () => {
    const m = new SortedMap<number, number>();
    for (let i = 0; i < 100_000; i++) m.set((i * 7919) % 100_003, i);
    let depth = 1;
    for (let n = fieldsOf(m).root; "children" in n; n = n.children[0]!) depth++;
    expect(depth).toBeLessThanOrEqual(4);
    expect(wellFormed(m)).toBe(true);
    expect(MAX_KEYS).toBe(64);
  });

  it("has Map's forEach, keys, values, entries and toStringTag", () => {
    const m = new SortedMap<string, number>([
      ["b", 2],
      ["a", 1],
    ]);
    const calls: unknown[] = [];
    m.forEach((v, k, map) => {
      calls.push([k, v, map === m]);
    });
    expect(calls).toEqual([
      ["a", 1, true],
      ["b", 2, true],
    ]);
    expect([...m.values()]).toEqual([1, 2]);
    expect([...m.entries()]).toEqual([
      ["a", 1],
      ["b", 2],
    ]);
    expect(Object.prototype.toString.call(m)).toBe("[object SortedMap]");
  });
});
