/**
 * `pnpm bench e2e`: 3 node processes (store-fs, fsync on, HTTP transport) and a separate load
 * process using `createClient`: puts of 64-byte values under 10,000 random keys at
 * concurrency 1, 16, 64, 256, then linearizable gets at 16 and 64 — the same workload and loop
 * as the etcd anchor in ../shared/anchors/etcd. Env: BENCH_SECONDS (default 8),
 * BENCH_VALUES=same for one constant value in every put (default: a new value per put),
 * BENCH_STATE=map to keep the values in one plain Map (default: one SortedMap),
 * BENCH_TARGET=leader|all (default leader: the client sends to the leader, as etcd's --leader-only),
 * BENCH_WARMUP_SECONDS (default 15): unmeasured mixed load after the 10,000-key fill, so that
 * the node processes have compiled their hot code (JIT) before the first measured phase;
 * BENCH_PEER_STREAM=0 for peer messages by POST instead of peer streams, BENCH_PUT_C and
 * BENCH_GET_C (comma-separated concurrencies; empty for none) to run only some phases,
 * BENCH_CPU_PROF=<dir> to write V8 CPU profiles of each node process there (in `<dir>/<id>/`),
 * BENCH_NODE_ARGS for extra Node.js flags of the node and load processes (the nodes then exit
 * cleanly, so exit hooks run), BENCH_TRACE=<dir> to timestamp each entry's stages in every
 * process (stageTrace.ts) and print where the time of one put went in the last phase (an empty
 * directory; run one put phase at C=1: `BENCH_PUT_C=1 BENCH_GET_C= BENCH_TRACE=/tmp/t pnpm bench e2e`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./freePort.js";
import type { PhaseResult } from "./loadgen.js";
import { table } from "./loadgen.js";
import { summarizeStages } from "./stageSummary.js";
import { stateKind } from "./stateKind.js";

const here = dirname(fileURLToPath(import.meta.url));
const nodeArgs = ["--conditions=@raftkit/source", "--import", "tsx"];
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const target = process.env.BENCH_TARGET ?? "leader";
const fsync = process.env.BENCH_FSYNC !== "0";
const concurrencies = (v: string | undefined, fallback: number[]): number[] =>
  v === undefined ? fallback : v.split(",").filter(Boolean).map(Number);
const putC = concurrencies(process.env.BENCH_PUT_C, [1, 16, 64, 256]);
const getC = concurrencies(process.env.BENCH_GET_C, [16, 64]);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 15);
const cpuProf = process.env.BENCH_CPU_PROF;
const trace = process.env.BENCH_TRACE;
const extraNodeArgs = [
  ...(process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean),
  ...(trace ? ["--import", join(here, "stageTrace.ts")] : []),
];

function firstLine(p: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    p.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(out.slice(0, out.indexOf("\n")));
    });
    p.once("exit", (code) => reject(new Error(`process exited with ${code}`)));
  });
}

const dir = mkdtempSync(join(tmpdir(), "raftkit-bench-"));
if (trace) mkdirSync(trace, { recursive: true });
const ids = ["b1", "b2", "b3"];
const peers: Record<string, string> = {};
for (const id of ids) peers[id] = `http://127.0.0.1:${await freePort()}`;
const procs = ids.map((id) =>
  spawn(
    process.execPath,
    [
      ...nodeArgs,
      // One directory per node: tsx's loader thread writes a profile of its own beside the main thread's.
      ...(cpuProf ? ["--cpu-prof", "--cpu-prof-dir", join(cpuProf, id)] : []),
      ...extraNodeArgs,
      join(here, "benchNode.ts"),
      JSON.stringify({ id, peers, dataDir: join(dir, id), fsync }),
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  ),
);
try {
  await Promise.all(procs.map(firstLine));
  let leader: string | undefined;
  for (let i = 0; i < 200 && !leader; i++) {
    for (const id of ids) {
      const s = (await fetch(`${peers[id]}/raftkit/status`, { headers: { authorization: "Bearer bench" } })
        .then((r) => r.json())
        .catch(() => null)) as { role?: string } | null;
      if (s?.role === "leader") leader = id;
    }
    if (!leader) await new Promise((r) => setTimeout(r, 50));
  }
  if (!leader) throw new Error("no leader elected");
  const endpoints = (target === "leader" ? [leader] : ids).map((id) => `${peers[id]}/raftkit`);
  console.log(
    `bench e2e: 3 node processes on 127.0.0.1, fsync ${fsync ? "on" : "OFF"}, peers over ${process.env.BENCH_PEER_STREAM === "0" ? "HTTP POSTs" : "streams"}, separate load process with createClient → ${target}; ` +
      `put of a 64-byte value (${process.env.BENCH_VALUES === "same" ? "the same for every put" : "a new one for every put"}) under 10,000 random keys, held in ${stateKind()}; ${warmupSeconds}s of unmeasured load after the fill, then ${seconds}s per phase after 1s warm-up`,
  );
  const load = spawn(
    process.execPath,
    [
      ...nodeArgs,
      ...extraNodeArgs,
      join(here, "e2eLoad.ts"),
      JSON.stringify({
        endpoints,
        seconds,
        putC,
        getC,
        serverPids: procs.map((p) => p.pid),
        keys: 10_000,
        warmupSeconds,
      }),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const rows: { label: string; r: PhaseResult }[] = [];
  let buf = "";
  load.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith("{")) {
        const r = JSON.parse(line) as PhaseResult & { op: string; concurrency: number };
        rows.push({ label: `${r.op === "put" ? "put" : "linearizable get"} C=${r.concurrency}`, r });
        console.log(line);
      }
      nl = buf.indexOf("\n");
    }
  });
  await new Promise((r) => load.once("exit", r));
  console.log(`\n${table(rows)}`);
  if (cpuProf || extraNodeArgs.length > 0) {
    // SIGINT makes a node exit at once (writing its profile, running exit hooks); wait for that.
    const exited = procs.map((p) => new Promise((r) => p.once("exit", r)));
    for (const p of procs) p.kill("SIGINT");
    await Promise.all(exited);
    if (cpuProf) console.log(`CPU profiles of ${ids.join(", ")} (leader ${leader}) in ${cpuProf}`);
    if (trace)
      console.log(
        `\nwhere the time of one put went (the last phase, ${seconds} s):\n${summarizeStages(trace, seconds)}`,
      );
  }
} finally {
  for (const p of procs) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
