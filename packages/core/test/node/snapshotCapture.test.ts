import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RaftNode } from "../../src/index.js";
import { decodeRuntimeSnapshot } from "../../src/node/runtimeSnapshot.js";
import { useSimulatedTime } from "../../src/testing/index.js";
import { CounterMachine, CountingStorage, encode, RuntimeCluster } from "./runtimeHarness.js";

beforeEach(useSimulatedTime);

afterEach(() => {
  vi.useRealTimers();
});

describe("RaftNode.captureSnapshot", () => {
  it("holds the state, membership, addresses, index and term of everything applied", async () => {
    const c = new RuntimeCluster(["a", "b", "c"]);
    await c.startAll();
    const leader = await c.waitForLeader();
    for (let i = 0; i < 5; i++) await c.settle(leader.propose(encode(2)));
    const follower = [...c.nodes.values()].find((n) => n !== leader)!;
    await c.settle(follower.readIndex());
    const snap = await c.settle(follower.captureSnapshot());
    expect(snap.meta.index).toBe(follower.status().applied);
    expect(snap.meta.term).toBe(follower.status().term);
    expect(snap.meta.confState.voters).toEqual(["a", "b", "c"]);
    const rs = decodeRuntimeSnapshot(snap.data);
    expect(rs.addresses).toEqual(c.peers);
    expect(JSON.parse(new TextDecoder().decode(rs.app))).toEqual({ total: 10 });
    await c.stopAll();
  });
});

describe("installing a snapshot", () => {
  it("keeps the addresses the receiving node was configured with, its own included", async () => {
    const c = new RuntimeCluster(["a", "b", "c"], { snapshotEntries: 20, snapshotCatchUpEntries: 2 });
    await c.startAll();
    const leader = await c.waitForLeader();
    for (let i = 0; i < 40; i++) await c.settle(leader.propose(encode(1)));
    // d reaches a under another name than the leader's map says, and knows itself as d-self.
    const machine = new CounterMachine();
    const d = await RaftNode.start({
      id: "d",
      storage: new CountingStorage(),
      transport: c.net.transport("d"),
      stateMachine: machine,
      peers: { d: "mem://d-self", a: "mem://a-from-d" },
      tickMs: 10,
    });
    await c.settle(leader.addLearner("d", "mem://d"));
    await c.until(() => machine.total === 40, 5_000, "learner catch-up");
    expect(c.net.delivered.get("snapshot") ?? 0).toBeGreaterThan(0);
    expect(d.addresses()).toEqual({ a: "mem://a-from-d", b: "mem://b", c: "mem://c", d: "mem://d-self" });
    await d.stop();
    await c.stopAll();
  });
});
