import { type Entry, MemoryStorage, RaftNode, type StateMachine } from "@raftkit/core";
import { HttpTransport, startPeerServer } from "@raftkit/transport-http";

/** Keeps the last text proposed. */
class LastText implements StateMachine {
  text = "";
  apply(entries: readonly Entry[]): string[] {
    return entries.map((e) => {
      this.text = new TextDecoder().decode(e.data);
      return this.text;
    });
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(this.text);
  }
  restore(data: Uint8Array): void {
    this.text = new TextDecoder().decode(data);
  }
}

// Every node gets the same map; in production each node runs in its own process on its own host.
const peers = { n1: "http://127.0.0.1:7101", n2: "http://127.0.0.1:7102", n3: "http://127.0.0.1:7103" };
const secret = process.env.RAFTKIT_SECRET ?? "change-me-to-a-long-random-string";

const members = await Promise.all(
  Object.entries(peers).map(async ([id, url]) => {
    const transport = new HttpTransport({ nodeId: id, clusterId: "demo", secret, peers });
    // Serves POST /raft/messages and /raft/snapshot; or mount transport.router in your express app.
    const server = await startPeerServer({ transport, host: "127.0.0.1", port: Number(new URL(url).port) });
    const node = await RaftNode.start({
      id,
      peers,
      bootstrap: true,
      storage: new MemoryStorage(),
      transport,
      stateMachine: new LastText(),
    });
    return { node, server };
  }),
);

const first = members[0]!.node;
await new Promise<void>((resolve) => {
  first.leader$.subscribe((id) => id && resolve());
});
const { result } = await first.propose(new TextEncoder().encode("over HTTP"));
console.log(`applied: ${String(result)}`);
for (const { node, server } of members) {
  await node.stop();
  await server.close();
}
