import { type Entry, MemoryNetwork, MemoryStorage, RaftNode, type StateMachine } from "@raftkit/core";

/** Sums the 32-bit integers proposed to it. Deterministic: the same entries give the same total. */
class Sum implements StateMachine {
  total = 0;
  apply(entries: readonly Entry[]): number[] {
    return entries.map((e) => {
      if (e.data.byteLength === 4) this.total += new DataView(e.data.buffer, e.data.byteOffset).getInt32(0);
      return this.total;
    });
  }
  snapshot(): Uint8Array {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, this.total);
    return b;
  }
  restore(data: Uint8Array): void {
    this.total = data.byteLength === 4 ? new DataView(data.buffer, data.byteOffset).getInt32(0) : 0;
  }
}

const network = new MemoryNetwork();
const peers = { a: "a", b: "b", c: "c" };
const nodes = await Promise.all(
  Object.keys(peers).map((id) =>
    RaftNode.start({
      id,
      peers,
      bootstrap: true,
      storage: new MemoryStorage(),
      transport: network.transport(id),
      stateMachine: new Sum(),
    }),
  ),
);

// Proposals need a leader: wait until the first election is decided.
const leader = await new Promise<string>((resolve) => {
  nodes[0]!.leader$.subscribe((id) => id && resolve(id));
});
const seven = new Uint8Array(4);
new DataView(seven.buffer).setInt32(0, 7);
// Any member accepts a proposal (a follower forwards it); it resolves once applied there.
const { index, result } = await nodes[0]!.propose(seven);
console.log(`${leader} leads; applied at index ${index}: total ${String(result)}`);
await Promise.all(nodes.map((n) => n.stop()));
