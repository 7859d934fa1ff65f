/**
 * `pnpm bench snapshot-stall`: the longest event-loop stall of a node while it takes a snapshot
 * of a large state. A single-node cluster in this process (startNode, no fsync) is filled with
 * puts of 128-byte values until its state is about 3 MB, then 12 MB; `snapshotEntries` is set so
 * that the node snapshots once, right after the last put of each fill. A 1 ms interval timer
 * records the largest gap between its runs (the stall) over the last puts and the snapshot, and
 * the time from those puts until the snapshot was stored. Compare the stall with the election timeout (1 s by
 * default): a leader that stalls longer loses its leadership.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { startNode } from "../src/startNode.js";
import { kv } from "./benchMachine.js";
import { freePort } from "./freePort.js";

const VALUE = "v".repeat(128);

async function measure(megabytes: number): Promise<{
  keys: number;
  stallMs: number;
  baselineMs: number;
  snapshotMs: number;
  gcMs: number;
}> {
  const keys = Math.round((megabytes * 1024 * 1024) / (VALUE.length + 16));
  const dir = mkdtempSync(join(tmpdir(), "raftkit-bench-snapstall-"));
  const port = await freePort();
  const snapshots: number[] = [];
  const logger = {
    debug() {},
    info: (_fields: Record<string, unknown>, line: string) => {
      if (line.includes("snapshot at index")) snapshots.push(performance.now());
    },
    warn() {},
    error() {},
  };
  const node = await startNode({
    logger,
    machine: kv,
    id: "s1",
    peers: { s1: `http://127.0.0.1:${port}` },
    dataDir: dir,
    secret: "bench",
    listen: { port },
    unsafeNoFsync: true,
    raft: { snapshotEntries: keys, snapshotCatchUpEntries: 10 },
  });
  try {
    while (node.status().role !== "leader") await new Promise((r) => setTimeout(r, 10));
    const batch = 500;
    for (let i = 0; i < keys - 10; i += batch) {
      const n = Math.min(batch, keys - 10 - i);
      await Promise.all(
        Array.from({ length: n }, (_, j) => node.commands.put({ key: `k${i + j}`, value: VALUE })),
      );
    }
    let last = performance.now();
    let stall = 0;
    // The same kind of puts without a snapshot: the stall the machine and the puts cause anyway.
    const baseline = setInterval(() => {
      const now = performance.now();
      stall = Math.max(stall, now - last);
      last = now;
    }, 1);
    for (let i = 0; i < 5; i++) await node.commands.put({ key: `k${i}`, value: VALUE });
    clearInterval(baseline);
    const baselineMs = stall;
    stall = 0;
    last = performance.now();
    let gcMs = 0;
    const gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcMs = Math.max(gcMs, e.duration);
    });
    gc.observe({ entryTypes: ["gc"] });
    const probe = setInterval(() => {
      const now = performance.now();
      stall = Math.max(stall, now - last);
      last = now;
    }, 1);
    const t0 = performance.now();
    // The node's own entries (election, publishing itself) come first: the snapshot lands on one of the last puts.
    for (let i = 0; snapshots.length === 0 && i < 100; i++)
      await node.commands.put({ key: `last${i}`, value: VALUE });
    if (snapshots.length === 0) throw new Error("the node took no snapshot");
    await new Promise((r) => setTimeout(r, 20));
    clearInterval(probe);
    gc.disconnect();
    const snapshotMs = snapshots[0]! - t0;
    return { keys, stallMs: stall, baselineMs, snapshotMs, gcMs };
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  "bench snapshot-stall: one node in this process, no fsync; the state is a Map of 128-byte values; the stall is the longest gap of a 1 ms timer from the last put until the snapshot is stored",
);
console.log(
  "| state | keys | longest event-loop stall ms | longest GC pause in it ms | same puts, no snapshot ms | last puts + snapshot ms |\n|---|---:|---:|---:|---:|---:|",
);
for (const mb of [3, 12]) {
  const r = await measure(mb);
  console.log(
    `| ~${mb} MB | ${r.keys.toLocaleString("en-US")} | ${r.stallMs.toFixed(0)} | ${r.gcMs.toFixed(0)} | ${r.baselineMs.toFixed(0)} | ${r.snapshotMs.toFixed(0)} |`,
  );
}
process.exit(0);
