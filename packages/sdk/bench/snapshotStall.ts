/**
 * `pnpm bench snapshot-stall`: the longest event-loop stall of a node around a snapshot of a
 * large state, with its causes apart.
 *
 * Taking one: a single node in this process (startNode, no fsync) is filled with 128-byte
 * values until its state is about 3 MB, then 12 MB. Then the same load runs twice, 8 clients
 * overwriting random keys: once without a snapshot (what the machine and the puts cost anyway),
 * once with a snapshot taken early in it (`snapshotEntries`), until the snapshot is stored. A
 * 1 ms timer records the longest gap in each (the stall), the most CPU time the main thread
 * used within one gap (on a busy machine a gap also holds time spent waiting for a core), and
 * the GC pauses. Four layouts of the same values: one SortedMap, one Map, one plain object, and
 * 256 bucket Maps.
 *
 * Installing one: the leader (in this process) snapshots a ~12 MB state and compacts its log;
 * a learner with an empty data directory, in a process of its own, joins and is sent the
 * snapshot while one client keeps writing. The sender's stall is measured here, the receiver's
 * (decode, restore, then the entries after it) in its process, with how long restoring held
 * the receiver's Raft loop (its log's durationMs).
 *
 * Compare the stalls with the election timeout (1 s by default) and with a heartbeat interval
 * (100 ms). Env: BENCH_LAYOUTS (default "SortedMap,Map,object,256 Maps"), BENCH_MB (default "3,12"),
 * BENCH_INSTALL=0 to skip installing, BENCH_PUTS (default 400) puts per phase, BENCH_MARKS=1 to print
 * when each measured phase starts and ends on the clock of `node --cpu-prof` profiles (µs),
 * BENCH_FOLLOWER_CPU_PROF=<dir> to write a CPU profile of each learner's process there.
 */
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AnyMachine } from "../src/types.js";
import { freePort } from "./freePort.js";
import { benchNode, keysFor, type SnapshotLog, until, VALUE } from "./snapshotBenchNode.js";
import { StallProbe, type Stalls } from "./stallProbe.js";
import { type LayoutName, layouts } from "./stateLayouts.js";

const here = dirname(fileURLToPath(import.meta.url));
const names = (process.env.BENCH_LAYOUTS ?? "SortedMap,Map,object,256 Maps").split(",") as LayoutName[];
const sizes = (process.env.BENCH_MB ?? "3,12").split(",").map(Number);
const PUTS = Number(process.env.BENCH_PUTS ?? 400);
const followerProfiles = process.env.BENCH_FOLLOWER_CPU_PROF;

/** With BENCH_MARKS=1, prints a phase boundary in a CPU profile's time base, to find the phase in the profile. */
function mark(what: string): void {
  if (process.env.BENCH_MARKS === "1") console.log(`mark ${what} ${process.hrtime.bigint() / 1000n}`);
}

type Put = (arg: { key: string; value: string }) => Promise<unknown>;
const putOf = (node: { commands: unknown }): Put => (node.commands as { put: Put }).put;

/** Writes `keys` new keys, 500 at a time. */
async function fill(put: Put, keys: number): Promise<void> {
  for (let i = 0; i < keys; i += 500) {
    const n = Math.min(500, keys - i);
    await Promise.all(Array.from({ length: n }, (_, j) => put({ key: `k${i + j}`, value: VALUE })));
  }
}

/** `clients` clients overwriting random existing keys, `puts` puts in all, then on until `more()` is false. */
async function load(
  put: Put,
  keys: number,
  puts: number,
  clients: number,
  more = () => false,
): Promise<void> {
  let left = puts;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (left-- > 0 || more()) {
        await put({
          key: `k${Math.floor(Math.random() * keys)}`,
          value: `${VALUE.slice(8)}${left}`.padEnd(128),
        });
      }
    }),
  );
}

async function tempNode(machine: AnyMachine, snapshotEntries: number, log: SnapshotLog) {
  const dir = mkdtempSync(join(tmpdir(), "raftkit-bench-snapstall-"));
  const peers = { s1: `http://127.0.0.1:${await freePort()}`, f1: `http://127.0.0.1:${await freePort()}` };
  const node = await benchNode(
    machine,
    { id: "s1", peers: { s1: peers.s1 }, dataDir: join(dir, "s1"), snapshotEntries },
    log,
  );
  await until(() => node.status().role === "leader", 30_000, "a leader");
  return { node, dir, peers };
}

async function taking(layout: LayoutName, mb: number) {
  const keys = keysFor(mb);
  const log: SnapshotLog = { taken: [], restoredMs: [] };
  // The snapshot falls early in the second phase: after the fill, the first phase, and 50 puts.
  const { node, dir } = await tempNode(layouts[layout], keys + PUTS + 50, log);
  try {
    const put = putOf(node);
    await fill(put, keys);
    const probe = new StallProbe();
    mark(`${layout} ${mb} MB puts only: start`);
    probe.start();
    await load(put, keys, PUTS, 8);
    const baseline = probe.stop();
    mark(`${layout} ${mb} MB puts only: end`);
    mark(`${layout} ${mb} MB puts + snapshot: start`);
    probe.start();
    await load(put, keys, PUTS, 8, () => log.taken.length === 0);
    const snapshot = probe.stop();
    mark(`${layout} ${mb} MB puts + snapshot: end`);
    if (log.taken.length === 0) throw new Error("the node took no snapshot");
    return { keys, baseline, snapshot, snapshotMs: log.taken[0]!.ms };
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function installing(layout: LayoutName, mb: number) {
  const keys = keysFor(mb);
  const log: SnapshotLog = { taken: [], restoredMs: [] };
  const { node, dir, peers } = await tempNode(layouts[layout], keys, log);
  const follower = fork(
    join(here, "snapshotFollower.ts"),
    [JSON.stringify({ id: "f1", peers, dataDir: join(dir, "f1"), layout })],
    {
      execArgv: [
        "--conditions=@raftkit/source",
        "--import",
        "tsx",
        ...(followerProfiles ? ["--cpu-prof", "--cpu-prof-dir", followerProfiles] : []),
      ],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  const exited = new Promise((r) => follower.once("exit", r));
  try {
    const put = putOf(node);
    await fill(put, keys);
    await until(() => log.taken.length > 0, 60_000, "the leader's snapshot");
    const index = log.taken[0]!.index;
    await new Promise((r) => follower.once("message", r));
    const answer = new Promise<{ stalls: Stalls; installedMs: number; restoredMs: number | null }>((r) =>
      follower.once("message", (m) => r(m as never)),
    );
    const probe = new StallProbe();
    mark(`${layout} ${mb} MB install: start`);
    probe.start();
    let done = false;
    const writes = load(put, keys, 0, 1, () => !done);
    await node.cluster.addLearner("f1", peers.f1);
    follower.send({ index });
    const received = await answer;
    done = true;
    await writes;
    const sender = probe.stop();
    mark(`${layout} ${mb} MB install: end`);
    return { keys, sender, ...received };
  } finally {
    // It exits on its own once it answered (writing its CPU profile, if asked for one).
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    follower.kill();
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (n: number) => n.toFixed(0);
const stallCells = (s: Stalls) => {
  if (process.env.BENCH_MARKS === "1") console.log(`stalls ${JSON.stringify(s.longest)}`);
  return `${ms(s.maxMs)} (${ms(s.maxCpuMs)}) | ${ms(s.gcMaxMs)}`;
};
const load1 = () => loadavg()[0]!.toFixed(1);

console.log(
  `bench snapshot-stall: node ${process.version}, ${cpus().length} cores, load average ${load1()}; one node in this process, no fsync, 128-byte values; ${PUTS} puts per phase by 8 clients`,
);
console.log(
  "\nTaking a snapshot (the leader's longest event-loop stall, in brackets the most CPU time its main thread used within one stall, and the longest GC pause; ms)\n",
);
console.log(
  "| layout | state | keys | puts only: stall | GC | puts + snapshot: stall | GC | snapshot took ms | load |\n|---|---|---:|---:|---:|---:|---:|---:|---:|",
);
for (const layout of names) {
  for (const mb of sizes) {
    const r = await taking(layout, mb);
    console.log(
      `| ${layout} | ~${mb} MB | ${r.keys.toLocaleString("en-US")} | ${stallCells(r.baseline)} | ${stallCells(r.snapshot)} | ${ms(r.snapshotMs)} | ${load1()} |`,
    );
  }
}
if (process.env.BENCH_INSTALL !== "0") {
  const mb = Math.max(...sizes);
  console.log(
    `\nInstalling a ~${mb} MB snapshot on a new learner (longest stall, in brackets the most main-thread CPU within one stall, and the longest GC pause, ms; one client writing meanwhile)\n`,
  );
  console.log(
    "| layout | sender: stall | GC | receiver: stall | GC | receiver applied the snapshot after ms | restore in the loop ms | load |\n|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const layout of names) {
    const r = await installing(layout, mb);
    console.log(
      `| ${layout} | ${stallCells(r.sender)} | ${stallCells(r.stalls)} | ${ms(r.installedMs)} | ${r.restoredMs ?? "-"} | ${load1()} |`,
    );
  }
}
process.exit(0);
