import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Message, ProposalDroppedError, StoppedError } from "../../src/index.js";
import { useSimulatedTime } from "../../src/testing/index.js";
import { encode, GatedStorage, RuntimeCluster } from "./runtimeHarness.js";

beforeEach(useSimulatedTime);

/**
 * Runs a 3-node cluster whose transports log each acknowledgement as it goes out (`<id> ack
 * <index>`): at once, or with `deferUntilFlush` (as the stream transport) in a microtask after
 * send() unless flush() comes first. Proposes A and, as A is answered, B, whose append tells
 * the followers that A is committed; expects each follower's ack of B out before it applies A.
 */
async function expectAckBeforeApply({ deferUntilFlush }: { deferUntilFlush: boolean }): Promise<void> {
  const c = new RuntimeCluster(["a", "b", "c"]);
  const log: string[] = [];
  const transport = c.net.transport.bind(c.net);
  c.net.transport = (id) => {
    const t = transport(id);
    let queued: Message[] = [];
    const write = (): void => {
      const out = queued;
      queued = [];
      for (const m of out) if (m.type === "appendResponse" && !m.reject) log.push(`${id} ack ${m.index}`);
      if (out.length > 0) t.send(out);
    };
    return {
      ...t,
      send(ms) {
        const first = queued.push(...ms) === ms.length;
        if (!deferUntilFlush) write();
        else if (first) queueMicrotask(write);
      },
      flush: write,
    };
  };
  await c.startAll();
  const leader = await c.waitForLeader();
  for (const [id, machine] of c.machines) {
    const apply = machine.apply.bind(machine);
    machine.apply = (es) => {
      for (const e of es) log.push(`${id} apply ${e.index}`);
      return apply(es);
    };
  }
  let a = 0;
  const b = await c.settle(
    leader.propose(encode(1)).then((r) => {
      a = r.index;
      return leader.propose(encode(2));
    }),
  );
  expect(b.index).toBe(a + 1);
  await c.until(() => [...c.machines.values()].every((m) => m.total === 3));
  for (const id of c.ids.filter((id) => id !== leader.id)) {
    expect(log.indexOf(`${id} ack ${b.index}`)).toBeGreaterThanOrEqual(0);
    expect(log.indexOf(`${id} ack ${b.index}`)).toBeLessThan(log.indexOf(`${id} apply ${a}`));
  }
  await c.stopAll();
}

afterEach(() => {
  vi.useRealTimers();
});

describe("RaftNode", () => {
  it("elects a leader, applies proposals from leader and followers, same state everywhere", async () => {
    const c = new RuntimeCluster(["a", "b", "c"]);
    await c.startAll();
    const leader = await c.waitForLeader();
    const follower = [...c.nodes.values()].find((n) => n !== leader)!;
    expect(await c.settle(leader.propose(encode(5)))).toMatchObject({ result: 5 });
    expect(await c.settle(follower.propose(encode(3)))).toMatchObject({ result: 8 });
    await c.until(() => [...c.machines.values()].every((m) => m.total === 8));
    await c.stopAll();
  });

  it("a linearizable read on a follower sees a write acknowledged before it", async () => {
    const c = new RuntimeCluster(["a", "b", "c"]);
    await c.startAll();
    const leader = await c.waitForLeader();
    const follower = [...c.nodes.values()].find((n) => n !== leader)!;
    await c.settle(leader.propose(encode(42)));
    const index = await c.settle(follower.readIndex());
    expect(index).toBeGreaterThan(0);
    expect(c.machines.get(follower.id)!.total).toBe(42);
    await c.stopAll();
  });

  it("concurrent reads share one ReadIndex round", async () => {
    const c = new RuntimeCluster(["a", "b", "c"]);
    await c.startAll();
    const leader = await c.waitForLeader();
    const before = c.net.delivered.get("heartbeat") ?? 0;
    const reads = Array.from({ length: 50 }, () => leader.readIndex());
    await c.settle(Promise.all(reads));
    // One round: one heartbeat per follower (plus at most a tick's worth of regular heartbeats).
    expect((c.net.delivered.get("heartbeat") ?? 0) - before).toBeLessThanOrEqual(6);
    await c.stopAll();
  });

  it("proposals that arrive while a batch is being written share the next durable write", async () => {
    const c = new RuntimeCluster(["a", "b", "c"]);
    await c.startAll();
    const leader = await c.waitForLeader();
    const storage = c.storages.get(leader.id)!;
    const before = storage.saves;
    await c.settle(Promise.all(Array.from({ length: 200 }, (_, i) => leader.propose(encode(i)))));
    expect(storage.saves - before).toBeLessThan(20);
    await c.stopAll();
  });

  it("proposals made in one turn reach each follower in one append, acknowledged once", async () => {
    const c = new RuntimeCluster(["a", "b", "c"]);
    await c.startAll();
    const leader = await c.waitForLeader();
    await c.settle(leader.propose(encode(0)));
    const appends = c.net.delivered.get("append") ?? 0;
    const acks = c.net.delivered.get("appendResponse") ?? 0;
    await c.settle(Promise.all(Array.from({ length: 50 }, (_, i) => leader.propose(encode(i)))));
    // One append and one acknowledgement per follower (a heartbeat round may add one each).
    expect((c.net.delivered.get("append") ?? 0) - appends).toBeLessThanOrEqual(4);
    expect((c.net.delivered.get("appendResponse") ?? 0) - acks).toBeLessThanOrEqual(4);
    await c.stopAll();
  });

  it("takes snapshots and compacts the log, keeping a tail for slow followers", async () => {
    const c = new RuntimeCluster(["a", "b", "c"], { snapshotEntries: 50, snapshotCatchUpEntries: 10 });
    await c.startAll();
    const leader = await c.waitForLeader();
    for (let i = 0; i < 120; i++) await c.settle(leader.propose(encode(1)));
    const storage = c.storages.get(leader.id)!;
    expect(storage.snapshot().meta.index).toBeGreaterThanOrEqual(100);
    expect(storage.firstIndex()).toBeGreaterThan(80);
    // Each snapshot was handed to prepareSnapshot (a file store writes its file then) before its save.
    expect(storage.prepared).toContain(storage.snapshot());
    await c.stopAll();
  });

  it("a node added as a learner after compaction catches up from a snapshot and is promoted", async () => {
    const c = new RuntimeCluster(["a", "b", "c"], { snapshotEntries: 30, snapshotCatchUpEntries: 5 });
    await c.startAll();
    const leader = await c.waitForLeader();
    for (let i = 0; i < 80; i++) await c.settle(leader.propose(encode(2)));
    c.peers.d = "mem://d";
    const d = await c.start("d", false);
    const cs = await c.settle(leader.addLearner("d", "mem://d"));
    expect(cs.learners).toEqual(["d"]);
    await c.until(() => c.machines.get("d")!.total === 160, 5_000, "learner catch-up");
    expect(c.net.delivered.get("snapshot") ?? 0).toBeGreaterThan(0);
    const cs2 = await c.settle(leader.addVoter("d"));
    expect(cs2.voters).toContain("d");
    await c.until(() => d.status().membership.voters.includes("d"));
    await c.stopAll();
  });

  it("survives the leader's isolation: a new leader is elected and serves", async () => {
    const c = new RuntimeCluster(["a", "b", "c"]);
    await c.startAll();
    const old = await c.waitForLeader();
    await c.settle(old.propose(encode(1)));
    c.net.isolate(old.id);
    await c.until(() => [...c.nodes.values()].some((n) => n !== old && n.status().role === "leader"));
    const fresh = [...c.nodes.values()].find((n) => n !== old && n.status().role === "leader")!;
    await c.settle(fresh.propose(encode(10)));
    c.net.heal();
    await c.until(() => c.machines.get(old.id)!.total === 11);
    // check-quorum made the old leader step down while isolated.
    expect(old.status().role).toBe("follower");
    await c.stopAll();
  });

  it("transfers leadership on request", async () => {
    const c = new RuntimeCluster(["a", "b", "c"]);
    await c.startAll();
    const leader = await c.waitForLeader();
    const target = [...c.nodes.values()].find((n) => n !== leader)!;
    await c.settle(leader.transferLeader(target.id));
    expect(target.status().role).toBe("leader");
    await c.stopAll();
  });

  it("rejects calls in flight with StoppedError on stop, and drops proposals without a leader", async () => {
    const c = new RuntimeCluster(["a", "b", "c"]);
    const a = await c.start("a");
    await expect(c.settle(a.propose(encode(1)))).rejects.toBeInstanceOf(ProposalDroppedError);
    await c.start("b");
    await c.start("c");
    const leader = await c.waitForLeader();
    c.net.drop = () => true;
    const p = leader.propose(encode(1));
    const r = leader.readIndex();
    await vi.advanceTimersByTimeAsync(20);
    const stopping = leader.stop({ handOver: false });
    await expect(p).rejects.toBeInstanceOf(StoppedError);
    await expect(r).rejects.toBeInstanceOf(StoppedError);
    await stopping;
    await c.stopAll();
  });

  it("stop() on a leader hands leadership over to a caught-up voter before stopping", async () => {
    const c = new RuntimeCluster(["a", "b", "c"]);
    await c.startAll();
    const leader = await c.waitForLeader();
    await c.settle(leader.propose(encode(1)));
    await c.settle(leader.stop());
    // No election timeout was waited out: another member leads the moment stop() resolves.
    const others = [...c.nodes.values()].filter((n) => n !== leader);
    expect(others.filter((n) => n.status().role === "leader")).toHaveLength(1);
    expect(leader.status().stopped).toBe(true);
    await c.stopAll();
  });

  it("applies committed entries, answering their callers, while its own write of newer entries is in flight", async () => {
    const c = new RuntimeCluster(["a", "b", "c"]);
    for (const id of c.ids) c.storages.set(id, new GatedStorage());
    await c.startAll();
    const leader = await c.waitForLeader();
    await c.settle(leader.propose(encode(1)));
    const gate = c.storages.get(leader.id) as GatedStorage;
    gate.hold();
    // B is held at the leader's disk; the followers' acknowledgements commit it meanwhile.
    const b = leader.status().commit + 1;
    let bApplied = false;
    void leader.propose(encode(2)).then(() => {
      bApplied = true;
    });
    await c.until(
      () => gate.waiting === 1 && leader.status().commit >= b,
      5_000,
      "B committed by the followers",
    );
    // C arrives while B's write is held: the next Ready writes C and applies B.
    const cDone = leader.propose(encode(3));
    gate.releaseOne();
    await c.until(() => gate.waiting === 1, 5_000, "C's write held");
    await c.until(() => bApplied, 5_000, "B applied while C's write is held");
    expect(c.machines.get(leader.id)!.total).toBe(3);
    gate.releaseAll();
    expect(await c.settle(cDone)).toMatchObject({ result: 6 });
    await c.stopAll();
  });

  it("a follower acknowledges new entries before it applies the committed ones of the same Ready", async () => {
    await expectAckBeforeApply({ deferUntilFlush: false });
  });

  it("a follower's acknowledgement leaves before it applies, on a transport that sends in a microtask unless flushed", async () => {
    // Like the stream transport. A follower that only queued its ack would apply (synchronous
    // user code) before it went out.
    await expectAckBeforeApply({ deferUntilFlush: true });
  });

  it("an idle follower learns a new commit a moment later (commitBroadcastDelayMs), not at the next heartbeat", async () => {
    // Heartbeats every 100 ms: only the deferred broadcast can tell the followers within 20 ms.
    const c = new RuntimeCluster(["a", "b", "c"], { tickMs: 100 });
    await c.startAll();
    const leader = await c.waitForLeader();
    await c.settle(leader.propose(encode(7)));
    await c.until(() => [...c.machines.values()].every((m) => m.total === 7), 20, "the followers applied");
    await c.stopAll();
  });

  it("publishes role, leader, term, commit and applied as observables", async () => {
    const c = new RuntimeCluster(["a", "b", "c"]);
    await c.startAll();
    const roles: string[] = [];
    const applied: number[] = [];
    c.node("a").role$.subscribe((r) => roles.push(r));
    c.node("a").appliedIndex$.subscribe((i) => applied.push(i));
    const leader = await c.waitForLeader();
    await c.settle(leader.propose(encode(1)));
    await c.until(() => applied.at(-1) === leader.status().commit);
    expect(roles[0]).toBe("follower");
    expect(new Set(applied).size).toBe(applied.length);
    await c.stopAll();
  });
});
