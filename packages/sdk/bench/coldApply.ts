/**
 * `pnpm bench cold-apply`: what one put costs a node to apply (ReplicatedMachine.apply: decode,
 * sessions, determinism guards, reducer, state check, immer) on a state of 10,000 keys, warm
 * (puts back to back) and cold (32 MB of memory touched before each put). A node of a cluster
 * whose processes share a few cores applies cold: between two puts at C=1, the other processes
 * ran and the caches hold their data. Prints p50/p90 µs per layout: a SortedMap of strings
 * (changed outside immer), a SortedMap of objects (through immer's drafts), one Map.
 * Env: BENCH_PUTS per case (default 3,000).
 */
import type { Entry } from "@raftkit/core";
import { encodeValue } from "../src/codec.js";
import { defineMachine } from "../src/defineMachine.js";
import { ReplicatedMachine } from "../src/replicatedMachine.js";
import { SortedMap } from "../src/sortedMap/sortedMap.js";

const puts = Number(process.env.BENCH_PUTS ?? 3_000);
const KEYS = 10_000;

type Value = string | { text: string };
const layouts: Record<
  string,
  { create: () => SortedMap<string, Value> | Map<string, Value>; value: (s: string) => Value }
> = {
  "SortedMap of strings": { create: () => new SortedMap(), value: (s) => s },
  "SortedMap of objects": { create: () => new SortedMap(), value: (s) => ({ text: s }) },
  Map: { create: () => new Map(), value: (s) => s },
};

const q = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.floor(p * a.length)]!.toFixed(1);
const thrash = new Float64Array(4 << 20);
const touchMemory = (): void => {
  for (let j = 0; j < thrash.length; j += 8) thrash[j]! += 1;
};

console.log(
  `bench cold-apply: one put's apply on a node, ${KEYS.toLocaleString("en")} keys, 64-byte values, ${puts} puts per case, Node ${process.version}`,
);
console.log("| layout | warm p50 µs | warm p90 µs | cold p50 µs | cold p90 µs |\n|---|---:|---:|---:|---:|");
for (const [name, { create, value }] of Object.entries(layouts)) {
  const machine = defineMachine({
    initial: () => ({ data: create() }),
    commands: {
      put(s, arg: { key: string; value: Value }) {
        s.data.set(arg.key, arg.value);
      },
    },
  });
  const m = new ReplicatedMachine(machine, 3_600_000);
  let index = 0;
  const entry = (key: string): Entry => {
    index++;
    const v = value(`${index}`.padEnd(64, "x"));
    const payload = {
      name: "put",
      arg: { key, value: v },
      session: "s1",
      seq: index,
      lowest: index,
      at: 1_000 + index,
    };
    return { index, term: 1, type: "normal", data: encodeValue(payload, "a bench command") };
  };
  const keys = Array.from({ length: KEYS }, (_, i) => `key-${String((i * 7919) % KEYS).padStart(5, "0")}`);
  for (let i = 0; i < KEYS; i += 64) m.applyNow(keys.slice(i, i + 64).map(entry));
  const row: string[] = [];
  for (const cold of [false, true]) {
    const us: number[] = [];
    for (let i = 0; i < puts; i++) {
      const e = entry(keys[(i * 104_729) % KEYS]!);
      if (cold) touchMemory();
      const t0 = performance.now();
      m.applyNow([e]);
      us.push((performance.now() - t0) * 1000);
    }
    row.push(q(us, 0.5), q(us, 0.9));
  }
  console.log(`| ${name} | ${row.join(" | ")} |`);
}
