import {
  type Entry,
  MemoryStorage,
  type NodeId,
  ProposalDroppedError,
  ProposalLostError,
  RaftNode,
  type StateMachine,
} from "@raftkit/core";
import { afterEach, expect, it } from "vitest";
import { HttpTransport } from "../src/httpTransport.js";
import { startPeerServer } from "../src/peerServer.js";
import { CLUSTER, eventually, SECRET } from "./helpers.js";

/** Adds each entry's number to a total. */
class Counter implements StateMachine {
  total = 0;
  apply(entries: readonly Entry[]): unknown[] {
    return entries.map((e) => (this.total += Number(new TextDecoder().decode(e.data))));
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(String(this.total));
  }
  restore(data: Uint8Array): void {
    this.total = Number(new TextDecoder().decode(data));
  }
}

/**
 * Proposes `n` on `node`, again if it was dropped or lost (then it was not applied): a slow
 * machine may see a spurious election, and the test is about the transport, not that.
 */
async function propose(node: RaftNode, n: number): Promise<void> {
  for (;;) {
    try {
      await node.propose(new TextEncoder().encode(String(n)));
      return;
    } catch (e) {
      if (!(e instanceof ProposalDroppedError || e instanceof ProposalLostError)) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it.each([
  ["HTTP POSTs", false],
  ["peer streams", true],
])("runs a three-node Raft cluster over %s: elects, replicates, forwards proposals", async (_, stream) => {
  const ids = ["n1", "n2", "n3"];
  const transports = new Map<NodeId, HttpTransport>();
  const peers: Record<NodeId, string> = {};
  for (const id of ids) {
    const t = new HttpTransport({ nodeId: id, clusterId: CLUSTER, secret: SECRET, peers: {}, stream });
    const server = await startPeerServer({ transport: t, host: "127.0.0.1", port: 0 });
    cleanups.push(() => server.close());
    transports.set(id, t);
    peers[id] = server.url;
  }
  const machines = new Map<NodeId, Counter>();
  const nodes: RaftNode[] = [];
  for (const id of ids) {
    const machine = new Counter();
    machines.set(id, machine);
    const node = await RaftNode.start({
      id,
      storage: new MemoryStorage(),
      transport: transports.get(id)!,
      stateMachine: machine,
      peers,
      bootstrap: true,
      tickMs: 20,
    });
    cleanups.push(() => node.stop());
    nodes.push(node);
  }
  const leader = await eventually(() => {
    const l = nodes.find((n) => n.status().role === "leader");
    expect(l).toBeDefined();
    return l!;
  });
  await eventually(() => {
    for (const n of nodes) expect(n.status().leader).toBe(leader.id);
  });
  const follower = nodes.find((n) => n !== leader)!;
  await Promise.all([...Array.from({ length: 20 }, () => propose(leader, 1)), propose(follower, 100)]);
  await eventually(() => {
    for (const id of ids) expect(machines.get(id)!.total).toBe(120);
  });
});
