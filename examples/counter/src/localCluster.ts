/**
 * Starts a 3-node counter cluster as separate processes on 127.0.0.1, adds to the counter
 * through a typed client, reads it back from every node, and stops.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@raftkit/sdk";
import type { Counter } from "./machine.js";
import { NodeProcesses } from "./nodeProcesses.js";

export async function runCounterExample(log: (line: string) => void = console.log): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), "raftkit-counter-"));
  const cluster = await NodeProcesses.start(["n1", "n2", "n3"], dataDir);
  try {
    const client = createClient<Counter>({ endpoints: cluster.apiUrls(), secret: cluster.secret });
    for (const by of [1, 2, 3, 4, 5]) log(`add(${by}) → ${await client.commands.add(by)}`);
    const value = await client.query.value();
    log(`value (linearizable) = ${value}`);
    for (const id of cluster.ids) {
      const one = createClient<Counter>({ endpoints: [cluster.apiUrl(id)], secret: cluster.secret });
      log(`  ${id} sees ${await one.query.value(undefined, { consistency: "stale" })}`);
    }
    return value;
  } finally {
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const value = await runCounterExample();
  process.exit(value === 15 ? 0 : 1);
}
