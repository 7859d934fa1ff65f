/**
 * `pnpm bench stages`: where the time of one put goes at concurrency 1. A 3-node cluster in
 * this process (RaftNode + store-fs with fsync + the HTTP transport over loopback), each node's
 * storage and transport wrapped to timestamp the moments that involve entry i:
 *
 *   propose → leader sends the append → leader's fsync done
 *   append sent → follower receives it → follower's fsync done → follower sends its ack
 *   → leader receives the first ack → leader applies i → propose resolves
 *
 * and then the same put through the app API (startNode + createClient, in this process too), whose
 * extra time over a direct propose is the client → leader → answer stage. In-process nodes share
 * one event loop, so the figures are a lower bound on what separate processes see. Env:
 * BENCH_PUTS (default 400), BENCH_PEER_STREAM=0 for the request/response peer transport.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Entry,
  type Message,
  RaftNode,
  type StateMachine,
  type StorageBatch,
  type Transport,
  type TransportHandler,
  type WritableStorage,
} from "@raftkit/core";
import { openFileStorage } from "@raftkit/store-fs";
import { HttpTransport } from "@raftkit/transport-http";
import express from "express";
import { createClient } from "../src/createClient.js";
import { startNode } from "../src/startNode.js";
import { kv } from "./benchMachine.js";
import { freePort } from "./freePort.js";

const PUTS = Number(process.env.BENCH_PUTS ?? 400);
const stream = process.env.BENCH_PEER_STREAM !== "0";
const now = (): number => performance.now();

/** Timestamps of the entry being measured, keyed by event name ("n2:recv" …); first one wins. */
let marks = new Map<string, number>();
let watched = -1;
const mark = (key: string): void => {
  if (!marks.has(key)) marks.set(key, now());
};

const carries = (m: Message): boolean => m.entries.some((e) => e.index === watched);

function timedStorage(id: string, s: WritableStorage): WritableStorage {
  return new Proxy(s, {
    get(target, prop, receiver) {
      if (prop === "save") {
        return async (batch: StorageBatch) => {
          const has = batch.entries?.some((e) => e.index === watched) ?? false;
          await target.save(batch);
          if (has) mark(`${id}:fsync`);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

function timedTransport(id: string, t: Transport): Transport {
  return {
    start: (h: TransportHandler) =>
      t.start({
        ...h,
        receive: (ms) => {
          for (const m of ms) {
            if (m.type === "append" && carries(m)) mark(`${id}:recvAppend`);
            if (m.type === "appendResponse" && !m.reject && m.index >= watched) mark(`${id}:recvAck`);
          }
          h.receive(ms);
        },
        reportUnreachable: (p) => h.reportUnreachable(p),
        reportSnapshot: (p, ok) => h.reportSnapshot(p, ok),
      }),
    send: (ms) => {
      for (const m of ms) {
        if (m.type === "append" && carries(m)) mark(`${id}:sendAppend`);
        if (m.type === "appendResponse" && !m.reject && m.index >= watched) mark(`${id}:sendAck`);
      }
      t.send(ms);
    },
    addPeer: (p, a) => t.addPeer(p, a),
    removePeer: (p) => t.removePeer(p),
    stop: () => t.stop(),
  };
}

class Counting implements StateMachine {
  constructor(readonly id: string) {}
  n = 0;
  apply(entries: readonly Entry[]): unknown[] {
    for (const e of entries) if (e.index === watched) mark(`${this.id}:apply`);
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

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;

async function raftStages(dir: string): Promise<void> {
  const ids = ["s1", "s2", "s3"];
  const peers: Record<string, string> = {};
  for (const id of ids) peers[id] = `http://127.0.0.1:${await freePort()}`;
  const nodes: RaftNode[] = [];
  const servers: ReturnType<typeof createServer>[] = [];
  for (const id of ids) {
    const transport = new HttpTransport({ nodeId: id, clusterId: "bench", secret: "bench", peers, stream });
    const app = express();
    app.use(transport.router);
    const server = createServer({ noDelay: true }, app);
    transport.attach(server);
    server.listen(Number(new URL(peers[id]!).port), "127.0.0.1");
    servers.push(server);
    nodes.push(
      await RaftNode.start({
        id,
        storage: timedStorage(id, await openFileStorage(join(dir, id), { sync: true })),
        transport: timedTransport(id, transport),
        stateMachine: new Counting(id),
        peers,
        bootstrap: true,
      }),
    );
  }
  let leader: RaftNode | undefined;
  while (!leader) {
    leader = nodes.find((n) => n.status().role === "leader");
    await new Promise((r) => setTimeout(r, 20));
  }
  const L = leader.id;
  const payload = new Uint8Array(100).fill(7);
  for (let i = 0; i < 50; i++) await leader.propose(payload);
  const stages: Record<string, number[]> = {};
  const add = (k: string, v: number | undefined): void => {
    if (v === undefined || !Number.isFinite(v)) return;
    stages[k] ??= [];
    stages[k].push(v);
  };
  for (let i = 0; i < PUTS; i++) {
    marks = new Map();
    watched = leader.status().commit + 1;
    const t0 = now();
    await leader.propose(payload);
    const t1 = now();
    const m = (k: string): number => marks.get(k) ?? NaN;
    // The follower whose ack arrived first is the one that made the entry committed.
    const f = ids.filter((id) => id !== L).sort((a, b) => m(`${a}:sendAck`) - m(`${b}:sendAck`))[0]!;
    add("propose → leader sends append", m(`${L}:sendAppend`) - t0);
    add("propose → leader fsync done", m(`${L}:fsync`) - t0);
    add("append sent → follower receives", m(`${f}:recvAppend`) - m(`${L}:sendAppend`));
    add("follower receives → follower fsync done", m(`${f}:fsync`) - m(`${f}:recvAppend`));
    add("follower fsync → follower sends ack", m(`${f}:sendAck`) - m(`${f}:fsync`));
    add("ack sent → leader receives", m(`${L}:recvAck`) - m(`${f}:sendAck`));
    add("ack received → leader applies", m(`${L}:apply`) - m(`${L}:recvAck`));
    add("apply → propose resolves", t1 - m(`${L}:apply`));
    add("propose total", t1 - t0);
  }
  console.log(`| stage (RaftNode.propose, ${stream ? "peer stream" : "peer HTTP POSTs"}) | median ms |`);
  console.log("|---|---:|");
  for (const [k, v] of Object.entries(stages)) console.log(`| ${k} | ${median(v).toFixed(3)} |`);
  for (const n of nodes) await n.stop();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
}

async function clientStage(dir: string): Promise<void> {
  const ids = ["a1", "a2", "a3"];
  const peers: Record<string, string> = {};
  for (const id of ids) peers[id] = `http://127.0.0.1:${await freePort()}`;
  const nodes = await Promise.all(
    ids.map((id) =>
      startNode({
        machine: kv,
        id,
        peers,
        dataDir: join(dir, id),
        secret: "bench",
        listen: { port: Number(new URL(peers[id]!).port) },
      }),
    ),
  );
  let leader: (typeof nodes)[number] | undefined;
  while (!leader) {
    leader = nodes.find((n) => n.status().role === "leader");
    await new Promise((r) => setTimeout(r, 20));
  }
  const client = createClient<typeof kv>({ endpoints: [leader.apiUrl], secret: "bench" });
  const value = "v".repeat(64);
  for (let i = 0; i < 50; i++) await client.commands.put({ key: `k${i}`, value });
  const direct: number[] = [];
  const viaClient: number[] = [];
  for (let i = 0; i < PUTS; i++) {
    let t = now();
    await leader.commands.put({ key: `k${i % 100}`, value });
    direct.push(now() - t);
    t = now();
    await client.commands.put({ key: `k${i % 100}`, value });
    viaClient.push(now() - t);
  }
  console.log("\n| put through the SDK (startNode) | median ms |\n|---|---:|");
  console.log(`| node.commands.put on the leader | ${median(direct).toFixed(3)} |`);
  console.log(`| createClient → leader's app API → answer | ${median(viaClient).toFixed(3)} |`);
  console.log(
    `| client → leader → answer (difference) | ${(median(viaClient) - median(direct)).toFixed(3)} |`,
  );
  for (const n of nodes) await n.stop();
}

const dir = mkdtempSync(join(tmpdir(), "raftkit-bench-stages-"));
try {
  console.log(
    `bench stages: 3 nodes in one process on 127.0.0.1, store-fs with fsync, ${PUTS} sequential puts of ~100 bytes; medians`,
  );
  await raftStages(join(dir, "raft"));
  await clientStage(join(dir, "sdk"));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
