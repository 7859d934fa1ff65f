// One member of the cluster:  node dist/node.js <id> <id=url,id=url,…> <dataDir>
import { startNode } from "@raftkit/sdk";
import { counter } from "./machine.js";

const [id, peerList, dataDir] = process.argv.slice(2);
const secret = process.env.RAFTKIT_SECRET;
if (!id || !peerList || !dataDir || !secret) {
  console.error("usage: RAFTKIT_SECRET=… node dist/node.js <id> <id=url,…> <dataDir>");
  process.exit(2);
}
const peers = Object.fromEntries(peerList.split(",").map((p) => p.split("=") as [string, string]));
const url = peers[id];
if (!url) throw new Error(`${id} is not in the peer list`);

const node = await startNode({
  machine: counter,
  id,
  peers,
  dataDir,
  secret,
  listen: { port: Number(new URL(url).port), host: "127.0.0.1" },
});
console.log(JSON.stringify({ ready: id, api: node.apiUrl }));
node.leader$.subscribe((leader) => console.log(JSON.stringify({ leader })));

process.on("SIGTERM", () => {
  void node.stop().then(() => process.exit(0));
});
