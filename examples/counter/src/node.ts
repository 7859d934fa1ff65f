/**
 * One member of the counter cluster, in its own process:
 *   tsx src/node.ts <id> <peers as id=url,…> <dataDir>
 * e.g. tsx src/node.ts n1 n1=http://127.0.0.1:7101,n2=http://127.0.0.1:7102,n3=http://127.0.0.1:7103 ./data/n1
 * Prints one JSON line when it serves; SIGTERM stops it cleanly.
 */
import { startNode } from "@raftkit/sdk";
import { counter } from "./machine.js";

const [id, peerList, dataDir] = process.argv.slice(2);
if (!id || !peerList || !dataDir) {
  console.error("usage: node.ts <id> <id=url,id=url,…> <dataDir>");
  process.exit(2);
}
const peers = Object.fromEntries(peerList.split(",").map((p) => p.split("=") as [string, string]));
const port = Number(new URL(peers[id]!).port);
const secret = process.env.RAFTKIT_SECRET ?? "counter-example-secret";

const node = await startNode({
  machine: counter,
  id,
  peers,
  dataDir,
  secret,
  listen: { port },
  raft: { tickMs: Number(process.env.RAFTKIT_TICK_MS ?? 100) },
});
process.stdout.write(`${JSON.stringify({ ready: true, id, apiUrl: node.apiUrl })}\n`);
process.on("SIGTERM", () => {
  void node.stop().then(() => process.exit(0));
});
