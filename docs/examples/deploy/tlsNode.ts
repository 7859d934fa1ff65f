import { readFileSync } from "node:fs";
import { startNode } from "@raftkit/sdk";
import express from "express";
import { counter } from "../getting-started/machine.js";

const id = process.env.RAFTKIT_ID!; // n1, n2 or n3: one per host
const tlsDir = "/etc/myapp/tls";

// HTTPS between members: each node serves its own certificate and trusts the cluster's CA.
const node = await startNode({
  machine: counter,
  id,
  dataDir: `/var/lib/myapp/raftkit/${id}`,
  secret: process.env.RAFTKIT_SECRET!, // peers and the app API; printable ASCII, no spaces
  clusterId: "orders-prod", // refuses peer traffic meant for another cluster
  peers: { n1: "https://10.0.0.1:7000", n2: "https://10.0.0.2:7000", n3: "https://10.0.0.3:7000" },
  listen: {
    port: 7000,
    host: "0.0.0.0",
    tls: { key: readFileSync(`${tlsDir}/node.key`), cert: readFileSync(`${tlsDir}/node.crt`) },
  },
  peerTls: { ca: readFileSync(`${tlsDir}/ca.crt`) },
});

// Or serve raftkit from the express app you already run (then you call listen yourself):
export async function mountInYourApp(): Promise<void> {
  const app = express();
  app.get("/healthz", (_req, res) => {
    res.json({ role: node.status().role, leader: node.status().leader });
  });
  await startNode({
    machine: counter,
    id,
    dataDir: `/var/lib/myapp/raftkit/${id}`,
    secret: process.env.RAFTKIT_SECRET!,
    peers: { n1: "http://10.0.0.1:3000", n2: "http://10.0.0.2:3000", n3: "http://10.0.0.3:3000" },
    app, // raftkit adds POST /raft/* (peers) and /raftkit/* (app API) to it
  });
  app.listen(3000, "0.0.0.0");
}

process.on("SIGTERM", () => {
  void node.stop().then(() => process.exit(0));
});
