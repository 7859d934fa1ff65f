/**
 * `pnpm bench vs-etcd [--rounds N] [--seconds S]`: a real 3-member etcd and raftkit's e2e cluster
 * on this machine, interleaved round by round (etcd, raftkit, etcd, raftkit, …), driven by the
 * same closed-loop harness (shared/anchors/loadgen.mjs) and the same workload: leader-only
 * clients, fsync on, puts of 64-byte values under 10,000 random keys at C=1/16/64/256, then
 * linearizable gets at C=16/64. Prints one table with both and the ratios (medians over rounds).
 *
 * Needs `etcd` on PATH and the anchor scripts (shared/anchors, found above the repository or at
 * $RAFTKIT_ANCHORS, with `npm ci` run in its etcd/ directory); it says so and exits 2 otherwise.
 * etcd runs on free loopback ports in a temporary directory, with the anchor's flags
 * (start-cluster.sh): default timings, fsync on. The raftkit cluster gets BENCH_WARMUP_SECONDS
 * (default 15) of unmeasured load after its fill, for the JIT (see e2e.ts); etcd needs none.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { findAnchors } from "./anchors.js";
import { freePort } from "./freePort.js";
import { stateKind } from "./stateKind.js";

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  args: process.argv.slice(3),
  options: { rounds: { type: "string", default: "1" }, seconds: { type: "string", default: "8" } },
});
const rounds = Number(args.rounds);
const seconds = Number(args.seconds);

type Row = {
  system: string;
  op: string;
  concurrency: number;
  ops_per_s: number;
  p50_ms: number;
  p99_ms: number;
};

function missing(what: string): never {
  console.error(`bench vs-etcd: ${what}`);
  process.exit(2);
}

const anchors = findAnchors();
if (anchors === null || !existsSync(join(anchors, "etcd", "bench.mjs")))
  missing(
    "the etcd anchor scripts (shared/anchors/etcd) are missing: run from a checkout with shared/ above it, or set RAFTKIT_ANCHORS",
  );
if (!existsSync(join(anchors, "etcd", "node_modules", "etcd3")))
  missing(`the anchor's etcd client is not installed: run (cd ${join(anchors, "etcd")} && npm ci)`);
try {
  execFileSync("etcd", ["--version"], { stdio: "ignore" });
} catch {
  missing("etcd is not on PATH (Debian: apt-get install -y etcd-server)");
}

/** Runs a child to its end and returns the JSON lines it printed on stdout. */
function jsonLines(p: ChildProcess): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    let out = "";
    p.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
    });
    p.once("error", reject);
    p.once("exit", (code) => {
      const rows = out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Row);
      if (code !== 0 && rows.length === 0) reject(new Error(`${p.spawnfile} exited with ${code}`));
      else resolve(rows);
    });
  });
}

async function etcdHealthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
    return ((await res.json()) as { health?: string }).health === "true";
  } catch {
    return false;
  }
}

async function runEtcd(round: number): Promise<Row[]> {
  const root = mkdtempSync(join(tmpdir(), "raftkit-vs-etcd-"));
  const ports = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  const client = ports.slice(0, 3);
  const peer = ports.slice(3);
  const cluster = peer.map((p, i) => `e${i + 1}=http://127.0.0.1:${p}`).join(",");
  const procs = client.map((cport, i) =>
    spawn(
      "etcd",
      [
        ...["--name", `e${i + 1}`, "--data-dir", join(root, `e${i + 1}.etcd`)],
        ...[
          "--listen-client-urls",
          `http://127.0.0.1:${cport}`,
          "--advertise-client-urls",
          `http://127.0.0.1:${cport}`,
        ],
        ...["--listen-peer-urls", `http://127.0.0.1:${peer[i]}`],
        ...["--initial-advertise-peer-urls", `http://127.0.0.1:${peer[i]}`],
        ...["--initial-cluster", cluster, "--initial-cluster-token", `vs-${process.pid}-${round}`],
        ...["--initial-cluster-state", "new"],
      ],
      { stdio: "ignore" },
    ),
  );
  try {
    writeFileSync(join(root, "etcd.pids"), procs.map((p) => p.pid).join("\n"));
    for (let i = 0; i < 80 && !(await Promise.all(client.map(etcdHealthy))).every(Boolean); i++)
      await new Promise((r) => setTimeout(r, 250));
    const bench = spawn(
      process.execPath,
      [
        join(anchors!, "etcd", "bench.mjs"),
        ...["--endpoints", client.map((p) => `127.0.0.1:${p}`).join(",")],
        ...["--leader-only", "--only", "put,get-lin", "--seconds", String(seconds)],
        ...["--pids", join(root, "etcd.pids"), "--round", String(round)],
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    return await jsonLines(bench);
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once("exit", r)) : null)));
    rmSync(root, { recursive: true, force: true });
  }
}

async function runRaftkit(): Promise<Row[]> {
  const e2e = spawn(
    process.execPath,
    ["--conditions=@raftkit/source", "--import", "tsx", join(here, "e2e.ts")],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, BENCH_SECONDS: String(seconds) },
    },
  );
  return (await jsonLines(e2e)).filter((r) => r.system === "raftkit");
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;
const results = new Map<string, { etcd: Row[]; raftkit: Row[] }>();
const key = (r: Row): string => `${r.op === "put" ? "put" : "linearizable get"} C=${r.concurrency}`;
const collect = (system: "etcd" | "raftkit", rows: Row[]): void => {
  for (const r of rows) {
    const k = key(r);
    const e = results.get(k) ?? { etcd: [], raftkit: [] };
    e[system].push(r);
    results.set(k, e);
  }
};

const started = new Date().toISOString();
for (let round = 1; round <= rounds; round++) {
  console.error(`== round ${round}/${rounds}: etcd`);
  collect("etcd", await runEtcd(round));
  console.error(`== round ${round}/${rounds}: raftkit`);
  collect("raftkit", await runRaftkit());
}

const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : "-");
console.log(
  `bench vs-etcd (${started}): 3-member etcd ${execFileSync("etcd", ["--version"]).toString().split("\n")[0]?.replace("etcd Version: ", "")} vs raftkit, 127.0.0.1, fsync on, leader-only clients, 64-byte values (raftkit: ${process.env.BENCH_VALUES === "same" ? "the same value in every put, as etcd's" : `a new value per put, held in ${stateKind()}; etcd: the same value`}), ${seconds}s per phase, medians of ${rounds} interleaved round(s); raftkit warmed up with ${process.env.BENCH_WARMUP_SECONDS ?? 15}s of unmeasured load; ratio = raftkit / etcd for ops/s, etcd / raftkit for latency (> 1 is raftkit ahead)`,
);
console.log(
  "| phase | etcd ops/s | p50 ms | p99 ms | raftkit ops/s | p50 ms | p99 ms | ops/s ratio | p50 ratio | p99 ratio |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const [k, { etcd, raftkit }] of results) {
  const e = {
    ops: median(etcd.map((r) => r.ops_per_s)),
    p50: median(etcd.map((r) => r.p50_ms)),
    p99: median(etcd.map((r) => r.p99_ms)),
  };
  const r = {
    ops: median(raftkit.map((x) => x.ops_per_s)),
    p50: median(raftkit.map((x) => x.p50_ms)),
    p99: median(raftkit.map((x) => x.p99_ms)),
  };
  console.log(
    `| ${k} | ${fmt(e.ops)} | ${fmt(e.p50, 2)} | ${fmt(e.p99, 2)} | ${fmt(r.ops)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.ops / e.ops, 2)}× | ${fmt(e.p50 / r.p50, 2)}× | ${fmt(e.p99 / r.p99, 2)}× |`,
  );
}
process.exit(0);
