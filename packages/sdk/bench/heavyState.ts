/**
 * `pnpm bench heavy-state`: what one batch of reducers costs on a large state, by layout. immer
 * copies every Map, Set, array or object a batch changes (shallowly: the container, not its
 * values), so one `Map` of 100,000 entries costs a 100,000-entry copy per batch, however few
 * entries change. Splitting it into buckets (a Map of Maps keyed by a hash of the key) copies
 * only the buckets a batch touches; a SortedMap copies only the tree nodes on the way to the keys
 * a batch changes. Env: BENCH_BATCHES (default 200).
 */
import { enableMapSet, freeze } from "immer";
import { type BatchStep, runBatch } from "../src/runBatch.js";
import { SortedMap } from "../src/sortedMap/sortedMap.js";
import { bucketOf } from "./stateLayouts.js";

enableMapSet();
const batches = Number(process.env.BENCH_BATCHES ?? 200);
const value = "v".repeat(64);

type Layout = {
  name: string;
  make: (keys: number) => unknown;
  /** Returns nothing: a reducer's result is detached and encoded, and `map.set()` returns the whole Map. */
  put: (draft: unknown, key: string) => void;
};

type Keyed = Map<string, string> | SortedMap<string, string>;

/** One collection of `keys` values, made by `create`, that a put changes one key of. */
const oneCollection = (name: string, create: () => Keyed): Layout => ({
  name,
  make: (keys) => {
    const data = create();
    for (let i = 0; i < keys; i++) data.set(`k${i}`, value);
    return { data };
  },
  put: (d, key) => {
    (d as { data: Keyed }).data.set(key, value);
  },
});

const layouts: Layout[] = [
  oneCollection("one SortedMap", () => new SortedMap()),
  oneCollection("one Map", () => new Map()),
  {
    name: "one object",
    make: (keys) => {
      const data: Record<string, string> = {};
      for (let i = 0; i < keys; i++) data[`k${i}`] = value;
      return { data };
    },
    put: (d, key) => {
      (d as { data: Record<string, string> }).data[key] = value;
    },
  },
  {
    name: "256 bucket Maps",
    make: (keys) => {
      const data = new Map<number, Map<string, string>>();
      for (let b = 0; b < 256; b++) data.set(b, new Map());
      for (let i = 0; i < keys; i++) data.get(bucketOf(`k${i}`))!.set(`k${i}`, value);
      return { data };
    },
    put: (d, key) => {
      (d as { data: Map<number, Map<string, string>> }).data.get(bucketOf(key))!.set(key, value);
    },
  },
];

const line = (r: string[]) =>
  console.log(r.map((c, i) => (i === 0 ? c.padEnd(18) : c.padStart(11))).join(""));
console.log(`heavy-state bench (node ${process.version}, ${batches} batches per case)`);
line(["layout", "keys", "batch", "ms/batch", "µs/command"]);
/** ms per batch of `batch` puts into `keys` keys, over `rounds` batches. */
function measure(layout: Layout, keys: number, batch: number, rounds: number): number {
  let state = freeze(layout.make(keys), true);
  let n = 0;
  const t0 = performance.now();
  for (let b = 0; b < rounds; b++) {
    const steps: BatchStep[] = Array.from({ length: batch }, () => ({
      run: (draft) => layout.put(draft, `k${(n++ * 7919) % (keys * 2)}`),
    }));
    state = runBatch(state, steps).state;
  }
  return (performance.now() - t0) / rounds;
}

// Unmeasured, so that the first layout measured does not pay for the JIT compiling immer.
for (const layout of layouts) measure(layout, 1_000, 8, 200);
for (const layout of layouts) {
  for (const keys of [10_000, 100_000]) {
    for (const batch of [1, 64]) {
      const ms = measure(layout, keys, batch, batches);
      line([layout.name, String(keys), String(batch), ms.toFixed(3), ((ms * 1000) / batch).toFixed(1)]);
    }
  }
}
