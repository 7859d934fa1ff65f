/**
 * The e2e benchmark's load process: a typed `createClient` against the cluster, driven by the
 * anchors' closed-loop harness. Prints one JSON line per phase.
 */
import { createClient } from "../src/createClient.js";
import type { kv } from "./benchMachine.js";
import { loadRunPhase } from "./loadgen.js";

const o = JSON.parse(process.argv[2]!) as {
  endpoints: string[];
  seconds: number;
  putC: number[];
  getC: number[];
  serverPids: number[];
  keys: number;
  warmupSeconds: number;
};
const runPhase = await loadRunPhase();
const client = createClient<typeof kv>({ endpoints: o.endpoints, secret: "bench", requestTimeoutMs: 10_000 });
// Each put writes a value of its own by default: a put that rewrites the value a key already has
// changes nothing in the state (immer then copies nothing), which no real workload does all the
// time. BENCH_VALUES=same writes one constant value, as the etcd anchor does (etcd's cost does
// not depend on it: every put is a new revision).
const sameValues = process.env.BENCH_VALUES === "same";
let puts = 0;
const value = (): string => (sameValues ? "v".repeat(64) : String(puts++).padStart(64, "v"));
const key = (): string => `k${Math.floor(Math.random() * o.keys)}`;

let next = 0;
await Promise.all(
  Array.from({ length: 64 }, async () => {
    while (next < o.keys) await client.commands.put({ key: `k${next++}`, value: value() });
  }),
);
// Unmeasured load first: a fresh Node.js process spends its first ~20 s compiling hot code
// (perf showed 16% of a node's CPU in TurboFan 6–11 s after start, under 1% after 25 s),
// which a compiled server such as etcd never pays.
const warmupEnd = Date.now() + o.warmupSeconds * 1000;
while (Date.now() < warmupEnd) {
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; i < 50; i++)
        await (w < 12 ? client.commands.put({ key: key(), value: value() }) : client.query.get(key()));
    }),
  );
  for (let i = 0; i < 200; i++) await client.commands.put({ key: key(), value: value() });
}
for (const c of o.putC) {
  const r = await runPhase({
    concurrency: c,
    seconds: o.seconds,
    op: () => client.commands.put({ key: key(), value: value() }),
    serverPids: o.serverPids,
  });
  console.log(JSON.stringify({ system: "raftkit", op: "put", ...r }));
}
for (const c of o.getC) {
  const r = await runPhase({
    concurrency: c,
    seconds: o.seconds,
    op: () => client.query.get(key()),
    serverPids: o.serverPids,
  });
  console.log(JSON.stringify({ system: "raftkit", op: "get", ...r }));
}
process.exit(0);
