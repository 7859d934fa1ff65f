/**
 * A replicated work queue on a 3-node cluster (three nodes in this process, for brevity;
 * see examples/counter for one process per node). Producers enqueue jobs; workers claim
 * them with a visibility timeout and ack them; a worker that "crashes" leaves its job to be
 * handed out again once the timeout passes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type RaftkitNode, startNode } from "@raftkit/sdk";
import { overlappingClaims, type Queue, queue } from "./machine.js";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface QueueRun {
  jobs: number;
  done: number;
  reclaimed: number;
  overlaps: string[];
}

export async function runQueueExample(
  o: { jobs?: number; workers?: number; log?: (l: string) => void } = {},
): Promise<QueueRun> {
  const log = o.log ?? console.log;
  const jobCount = o.jobs ?? 40;
  const workerCount = o.workers ?? 4;
  const dir = mkdtempSync(join(tmpdir(), "raftkit-queue-"));
  const ids = ["q1", "q2", "q3"];
  const peers: Record<string, string> = {};
  for (const id of ids) peers[id] = `http://127.0.0.1:${await freePort()}`;
  const secret = "queue-example-secret";
  const nodes: RaftkitNode<Queue>[] = await Promise.all(
    ids.map((id) =>
      startNode({
        machine: queue,
        id,
        peers,
        dataDir: join(dir, id),
        secret,
        listen: { port: Number(new URL(peers[id]!).port) },
        raft: { tickMs: 50 },
      }),
    ),
  );
  try {
    const client = createClient<Queue>({ endpoints: nodes.map((n) => n.apiUrl), secret });
    for (let i = 0; i < jobCount; i++) await client.commands.enqueue(`payload ${i}`);
    log(`enqueued ${jobCount} jobs`);

    const visibilityMs = 300;
    const worker = async (name: string): Promise<number> => {
      const c = createClient<Queue>({ endpoints: nodes.map((n) => n.apiUrl), secret });
      let acked = 0;
      for (let n = 0; ; n++) {
        const job = await c.commands.claim({ worker: name, visibilityMs });
        if (!job) {
          const stats = await c.query.stats();
          if (stats.ready === 0 && stats.claimed === 0) return acked;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        // Every 7th claim the worker "crashes" and never acks: the job comes back after the timeout.
        if (n % 7 === 6) continue;
        if (await c.commands.ack({ id: job.id, worker: name })) acked++;
      }
    };
    const acked = await Promise.all(Array.from({ length: workerCount }, (_, i) => worker(`worker-${i + 1}`)));
    const jobs = await client.query.jobs();
    const done = jobs.filter((j) => j.status === "done").length;
    const reclaimed = jobs.filter((j) => j.claims.length > 1).length;
    const overlaps = overlappingClaims(jobs);
    log(
      `workers acked ${acked.join(" + ")} = ${acked.reduce((a, b) => a + b, 0)} jobs; ${done} done; ${reclaimed} handed out again after a timeout`,
    );
    log(
      overlaps.length === 0
        ? "no job was ever held by two workers at once"
        : `OVERLAPS:\n${overlaps.join("\n")}`,
    );
    return { jobs: jobCount, done, reclaimed, overlaps };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runQueueExample();
  process.exit(r.done === r.jobs && r.overlaps.length === 0 ? 0 : 1);
}
