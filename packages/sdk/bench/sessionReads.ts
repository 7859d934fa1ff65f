/**
 * `pnpm bench session-reads`: reads on a follower, `"session"` (served locally once it applied
 * the caller's token) against `"linearizable"` (a ReadIndex round through the leader), and
 * linearizable reads on the leader for reference. 3 SDK nodes (startNode: store-fs, HTTP
 * transport, fsync on) in this process on 127.0.0.1; the load calls `node.query` directly, so
 * the figures are the read paths' cost, not HTTP's. Env: BENCH_SECONDS (default 5).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNode } from "../src/startNode.js";
import { counter } from "../test/counterMachine.js";
import { freePort } from "./freePort.js";
import { loadRunPhase, type PhaseResult, table } from "./loadgen.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 5);

const dir = mkdtempSync(join(tmpdir(), "raftkit-bench-session-"));
const ids = ["s1", "s2", "s3"];
const peers: Record<string, string> = {};
for (const id of ids) peers[id] = `http://127.0.0.1:${await freePort()}`;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const nodes = await Promise.all(
  ids.map((id) =>
    startNode({
      machine: counter,
      id,
      peers,
      dataDir: join(dir, id),
      secret: "bench",
      listen: { port: Number(new URL(peers[id]!).port), host: "127.0.0.1" },
      logger: quiet,
      metrics: false,
      dashboard: false,
    }),
  ),
);
try {
  for (let i = 0; i < 400 && !nodes.some((n) => n.status().role === "leader"); i++)
    await new Promise((r) => setTimeout(r, 50));
  const leader = nodes.find((n) => n.status().role === "leader");
  if (!leader) throw new Error("no leader elected");
  const follower = nodes.find((n) => n !== leader)!;
  const { token } = await leader.withToken.commands.add(1);
  console.log(
    `bench session-reads: 3 SDK nodes in one process on 127.0.0.1 (store-fs, HTTP transport, fsync on); ` +
      `node.query.value() called directly; ${seconds}s per phase after 1s warm-up; the token is a write's`,
  );
  console.log(`leader ${leader.id}, follower ${follower.id}, token ${token}`);
  const runPhase = await loadRunPhase();
  const rows: { label: string; r: PhaseResult }[] = [];
  const phases: [string, () => Promise<unknown>][] = [
    ["leader linearizable", () => leader.query.value()],
    ["follower linearizable", () => follower.query.value()],
    // NB: a session read this node can serve settles in microtasks only; a closed loop of them
    // would starve the harness's timers, so each one yields to the event loop first.
    [
      "follower session",
      async () => {
        await new Promise((r) => setImmediate(r));
        return follower.query.value(undefined, { consistency: "session", after: token });
      },
    ],
    [
      "follower stale (floor)",
      async () => {
        await new Promise((r) => setImmediate(r));
        return follower.query.value(undefined, { consistency: "stale" });
      },
    ],
  ];
  for (const [label, op] of phases)
    for (const concurrency of [16, 64]) {
      const r = await runPhase({ concurrency, seconds, op, serverPids: [process.pid] });
      rows.push({ label: `${label} C=${concurrency}`, r });
      console.log(JSON.stringify({ phase: `${label} C=${concurrency}`, ...r }));
    }
  console.log(`\n${table(rows)}\n(one process: the three nodes and the load share its CPU)`);
} finally {
  await Promise.all(nodes.map((n) => n.stop()));
  rmSync(dir, { recursive: true, force: true });
}
