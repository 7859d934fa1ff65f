import { keyValueMachine } from "./benchMachine.js";
import { SortedMap } from "../src/sortedMap/sortedMap.js";
import { ReplicatedMachine } from "../src/replicatedMachine.js";
import { encodeValue } from "../src/codec.js";
const m = new ReplicatedMachine(keyValueMachine(() => new SortedMap()), 3600_000);
let index = 0;
const entry = (key: string, value: string) => {
  index++;
  return { index, term: 1, type: "normal" as const, data: encodeValue({ name: "put", arg: { key, value }, session: "s1", seq: index, lowest: index, at: 1000 + index }, "x") };
};
const keys = Array.from({ length: 10000 }, (_, i) => `key-${String(i).padStart(5, "0")}`);
const val = () => Math.random().toString(36).padEnd(64, "x").slice(0, 64);
for (let i = 0; i < 10000; i += 64) m.applyNow(keys.slice(i, i + 64).map((k) => entry(k, val())));
const thrash = new Float64Array(4 << 20); // 32 MB
const q = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.floor(p * a.length)]!.toFixed(1);
for (const cold of (process.env.COLD ? [true, true, true] : [false, true, false, true])) {
  const lat: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const e = entry(keys[Math.floor(Math.random() * keys.length)]!, val());
    if (cold) for (let j = 0; j < thrash.length; j += 8) thrash[j]! += 1;
    const t = performance.now();
    m.applyNow([e]);
    lat.push((performance.now() - t) * 1000);
  }
  console.log(cold ? "cold" : "warm", "apply p50", q(lat, 0.5), "p90", q(lat, 0.9), "us");
}
