/**
 * `pnpm bench cluster`: the runtime alone. 3 node processes (RaftNode + store-fs + HTTP
 * transport, fsync on); the load runs inside the leader process and calls `propose` (64-byte
 * entries) at concurrency 1, 16, 64, 256, then `readIndex` (linearizable reads) at 16 and 64.
 * Env: BENCH_SECONDS (default 8), BENCH_FSYNC=0 to turn fsync off.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./freePort.js";
import { type PhaseResult, table } from "./loadgen.js";

const here = dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const fsync = process.env.BENCH_FSYNC !== "0";

const dir = mkdtempSync(join(tmpdir(), "raftkit-bench-cluster-"));
const ids = ["c1", "c2", "c3"];
const peers: Record<string, string> = {};
for (const id of ids) peers[id] = `http://127.0.0.1:${await freePort()}`;
const procs = new Map<string, ChildProcess>();
for (const id of ids) {
  procs.set(
    id,
    fork(join(here, "clusterNode.ts"), [JSON.stringify({ id, peers, dataDir: join(dir, id), fsync })], {
      execArgv: ["--conditions=@raftkit/source", "--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    }),
  );
}
const ask = (p: ChildProcess, m: object): Promise<PhaseResult & { phase: string }> =>
  new Promise((resolve) => {
    p.once("message", (r) => resolve((r as { result: PhaseResult & { phase: string } }).result));
    p.send(m);
  });
try {
  await Promise.all([...procs.values()].map((p) => new Promise((r) => p.once("message", r))));
  let leader: string | undefined;
  for (let i = 0; i < 400 && !leader; i++) {
    for (const id of ids) {
      const s = (await fetch(`${peers[id]}/role`)
        .then((r) => r.json())
        .catch(() => null)) as { role?: string } | null;
      if (s?.role === "leader") leader = id;
    }
    if (!leader) await new Promise((r) => setTimeout(r, 50));
  }
  if (!leader) throw new Error("no leader elected");
  console.log(
    `bench cluster: 3 node processes on 127.0.0.1 (RaftNode + store-fs + HTTP transport), fsync ${fsync ? "on" : "OFF"}; ` +
      `load inside the leader process: propose(64-byte entry) / readIndex(); ${seconds}s per phase after 1s warm-up`,
  );
  const serverPids = [...procs.values()].map((p) => p.pid!);
  const rows: { label: string; r: PhaseResult }[] = [];
  for (const c of [1, 16, 64, 256]) {
    const r = await ask(procs.get(leader)!, { phase: "propose", concurrency: c, seconds, serverPids });
    rows.push({ label: `propose C=${c}`, r });
    console.log(JSON.stringify(r));
  }
  for (const c of [16, 64]) {
    const r = await ask(procs.get(leader)!, { phase: "read", concurrency: c, seconds, serverPids });
    rows.push({ label: `readIndex C=${c}`, r });
    console.log(JSON.stringify(r));
  }
  console.log(`\n${table(rows)}\n(server CPU includes the load, which runs in the leader process)`);
} finally {
  for (const p of procs.values()) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
