/**
 * One node of `pnpm bench cluster`, in its own process: the runtime (RaftNode) with store-fs and
 * the HTTP transport, and a state machine that only counts. On the leader, the parent asks
 * (over IPC) for load phases that call `propose` and `readIndex` directly — no client, no SDK.
 */
import { createServer } from "node:http";
import { type Entry, RaftNode, type StateMachine } from "@raftkit/core";
import { openFileStorage } from "@raftkit/store-fs";
import { HttpTransport } from "@raftkit/transport-http";
import express from "express";
import { loadRunPhase } from "./loadgen.js";

const c = JSON.parse(process.argv[2]!) as {
  id: string;
  peers: Record<string, string>;
  dataDir: string;
  fsync: boolean;
};

class Counting implements StateMachine {
  n = 0;
  apply(entries: readonly Entry[]): unknown[] {
    this.n += entries.length;
    return entries.map(() => this.n);
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(String(this.n));
  }
  restore(data: Uint8Array): void {
    this.n = Number(new TextDecoder().decode(data));
  }
}

const transport = new HttpTransport({ nodeId: c.id, clusterId: "bench", secret: "bench", peers: c.peers });
const node = await RaftNode.start({
  id: c.id,
  storage: await openFileStorage(c.dataDir, { sync: c.fsync }),
  transport,
  stateMachine: new Counting(),
  peers: c.peers,
  bootstrap: true,
  snapshotEntries: 50_000,
  snapshotCatchUpEntries: 10_000,
});
const app = express();
app.use(transport.router);
app.get("/role", (_req, res) => {
  res.json({ role: node.status().role });
});
createServer(app).listen(Number(new URL(c.peers[c.id]!).port), "127.0.0.1", () =>
  process.send!({ ready: true }),
);

const payload = new Uint8Array(64).fill(7);
process.on(
  "message",
  async (m: { phase: "propose" | "read"; concurrency: number; seconds: number; serverPids: number[] }) => {
    const runPhase = await loadRunPhase();
    const op = m.phase === "propose" ? () => node.propose(payload) : () => node.readIndex();
    const r = await runPhase({
      concurrency: m.concurrency,
      seconds: m.seconds,
      op,
      serverPids: m.serverPids,
    });
    process.send!({ result: { phase: m.phase, ...r } });
  },
);
