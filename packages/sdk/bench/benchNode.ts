/** One node of the e2e benchmark, in its own process; prints `{"ready":true}` once it serves. */
import { startNode } from "../src/startNode.js";
import { kv } from "./benchMachine.js";

const c = JSON.parse(process.argv[2]!) as {
  id: string;
  peers: Record<string, string>;
  dataDir: string;
  fsync: boolean;
};
const node = await startNode({
  machine: kv,
  id: c.id,
  peers: c.peers,
  dataDir: c.dataDir,
  secret: "bench",
  listen: { port: Number(new URL(c.peers[c.id]!).port) },
  unsafeNoFsync: !c.fsync,
  peerStream: process.env.BENCH_PEER_STREAM !== "0",
  raft: { snapshotEntries: 50_000, snapshotCatchUpEntries: 10_000 },
});
process.stdout.write(`${JSON.stringify({ ready: true, id: node.id })}\n`);
// SIGINT exits at once (e.g. to write a --cpu-prof profile).
process.on("SIGINT", () => process.exit(0));
process.on("SIGTERM", () => {
  void node.stop().then(() => process.exit(0));
});
