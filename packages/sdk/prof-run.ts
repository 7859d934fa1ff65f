import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kv } from "./bench/benchMachine.js";
import { createClient } from "./src/createClient.js";
import { startNode } from "./src/startNode.js";

const dir = mkdtempSync(join(tmpdir(), "prof-"));
const peers = { p1: "http://127.0.0.1:7301", p2: "http://127.0.0.1:7302", p3: "http://127.0.0.1:7303" };
const nodes = await Promise.all(
  Object.keys(peers).map((id) =>
    startNode({
      machine: kv,
      id,
      peers,
      dataDir: join(dir, id),
      secret: "s",
      listen: { port: Number(new URL(peers[id as keyof typeof peers]).port) },
    }),
  ),
);
while (!nodes.some((n) => n.status().role === "leader")) await new Promise((r) => setTimeout(r, 50));
const leader = nodes.find((n) => n.status().role === "leader")!;
const client = createClient<typeof kv>({ endpoints: [leader.apiUrl], secret: "s" });
const value = "v".repeat(64);
let ops = 0;
let stop = false;
const t0 = Date.now();
await Promise.all(
  Array.from({ length: 256 }, async () => {
    while (!stop) {
      await client.commands.put({ key: `k${Math.floor(Math.random() * 10000)}`, value });
      ops++;
      if (Date.now() - t0 > 4000) stop = true;
    }
  }),
);
console.log("ops/s", ops / 4);
process.exit(0);
