/**
 * `pnpm bench core`: proposals per second through the pure Raft core, with 3 and 5
 * in-memory nodes in one process (no disk, no network: the algorithm's own cost). Each round
 * proposes a batch of 64-byte entries on the leader and runs the cluster until the leader
 * has applied them; figures are per proposal.
 */
import { TestCluster } from "../test/helpers/cluster.js";

const PAYLOAD = 64;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);

interface Result {
  nodes: number;
  batch: number;
  opsPerSec: number;
  p50: number;
  p99: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

function run(nodes: number, batch: number): Result {
  const ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  const c = new TestCluster(ids);
  c.campaign("n1");
  const leader = c.get("n1");
  const payload = new Uint8Array(PAYLOAD).fill(7);
  const latencies: number[] = [];
  let ops = 0;
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  while (performance.now() < deadline) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) leader.node.propose(payload);
    c.settle();
    latencies.push(performance.now() - t0);
    ops += batch;
    for (const id of ids) c.get(id).applied = [];
  }
  const elapsed = (performance.now() - start) / 1000;
  for (const id of ids) {
    const st = c.get(id).node.status();
    // Bootstrap entries plus the leader's empty entry come before the proposals.
    if (st.applied < ops + nodes + 1)
      throw new Error(`bench: ${id} applied ${st.applied} of ${ops} proposals`);
  }
  latencies.sort((a, b) => a - b);
  return {
    nodes,
    batch,
    opsPerSec: ops / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
  };
}

console.log(
  `bench core: in-memory RawNodes in one process, ${PAYLOAD}-byte entries, ${SECONDS}s per row, no fsync, no network`,
);
console.log("nodes  batch   proposals/s   batch p50 ms   batch p99 ms");
for (const nodes of [3, 5]) {
  for (const batch of [1, 16, 256]) {
    const r = run(nodes, batch);
    console.log(
      `${String(r.nodes).padStart(5)}  ${String(r.batch).padStart(5)}  ${Math.round(r.opsPerSec).toLocaleString("en-US").padStart(12)}   ${r.p50.toFixed(3).padStart(12)}   ${r.p99.toFixed(3).padStart(12)}`,
    );
  }
}
