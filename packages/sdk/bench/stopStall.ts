/**
 * Measures what clients see when the leader is stopped with `node.stop()`: 3 nodes in this
 * process (real HTTP between them, fsync on), callers running commands back to back on each
 * follower (forwarded to the leader) and through `createClient`, then the leader stops. The
 * stall is the longest a single command took among those in flight at or after the stop.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "../src/createClient.js";
import { defineMachine } from "../src/defineMachine.js";
import { type RaftkitNode, startNode } from "../src/startNode.js";
import { freePort } from "./freePort.js";

const counter = defineMachine({
  initial: () => ({ n: 0 }),
  commands: { add: (s, by: number) => (s.n += by) },
  queries: { value: (s) => s.n },
});

export interface StallResult {
  /** Longest command among those in flight when the leader began to stop, or started after, in ms. */
  followerStallMs: number;
  clientStallMs: number;
  /** How long `stop()` on the leader took, in ms. */
  stopMs: number;
  /** Commands that failed (none is expected: every caller retries through the leader change). */
  failures: number;
  commands: number;
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met within the deadline");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs one round: a fresh cluster, load for `loadMs`, the leader stopped, load for `afterMs` more. */
export async function measureStopStall(o: { loadMs?: number; afterMs?: number } = {}): Promise<StallResult> {
  const dir = mkdtempSync(join(tmpdir(), "raftkit-stall-"));
  const ids = ["s1", "s2", "s3"];
  const peers: Record<string, string> = {};
  for (const id of ids) peers[id] = `http://127.0.0.1:${await freePort()}`;
  const nodes: RaftkitNode<typeof counter>[] = [];
  try {
    for (const id of ids)
      nodes.push(
        await startNode({
          machine: counter,
          id,
          peers,
          dataDir: join(dir, id),
          secret: "stall-secret",
          listen: { port: Number(new URL(peers[id]!).port) },
          logLevel: "silent",
        }),
      );
    await waitFor(() => nodes.some((n) => n.status().role === "leader"), 20_000);
    const leader = nodes.find((n) => n.status().role === "leader")!;
    const followers = nodes.filter((n) => n !== leader);
    const client = createClient<typeof counter>({
      endpoints: nodes.map((n) => n.apiUrl),
      secret: "stall-secret",
    });
    let running = true;
    let stopAt = Number.POSITIVE_INFINITY;
    let failures = 0;
    let commands = 0;
    const stall = { follower: 0, client: 0 };
    const loop = async (run: () => Promise<unknown>, kind: "follower" | "client"): Promise<void> => {
      while (running) {
        const start = performance.now();
        try {
          await run();
          commands++;
        } catch {
          failures++;
        }
        const end = performance.now();
        if (end >= stopAt) stall[kind] = Math.max(stall[kind], end - start);
      }
    };
    const loops = [
      ...followers.flatMap((f) => [0, 1, 2, 3].map(() => loop(() => f.commands.add(1), "follower"))),
      ...[0, 1, 2, 3].map(() => loop(() => client.commands.add(1), "client")),
    ];
    await new Promise((r) => setTimeout(r, o.loadMs ?? 1_000));
    stopAt = performance.now();
    await leader.stop();
    const stopMs = performance.now() - stopAt;
    await new Promise((r) => setTimeout(r, o.afterMs ?? 4_000));
    running = false;
    await Promise.all(loops);
    return {
      followerStallMs: Math.round(stall.follower),
      clientStallMs: Math.round(stall.client),
      stopMs: Math.round(stopMs),
      failures,
      commands,
    };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}
