import { describe, expect, it } from "vitest";
import type { NodeId } from "../../src/index.js";
import { Net } from "../helpers/net.js";
import { dec, ELECTION_TICK, enc, ofType, steadyLeader, UnitNode } from "../helpers/unit.js";

const ABC: NodeId[] = ["a", "b", "c"];

/** The read states a node produced, as [index, context] pairs. */
function reads(n: UnitNode): Array<[number, string]> {
  n.persist();
  return n.readStates.map((rs) => [rs.index, dec(rs.requestCtx)]);
}

/** Asks `n` (a leader) for a read and returns the context its heartbeats carry for it. */
function askRead(n: UnitNode, ctx: string): Uint8Array {
  n.rn.readIndex(enc(ctx));
  const hb = ofType(n.take(), "heartbeat")[0];
  if (!hb?.context) throw new Error(`no heartbeat round for ${ctx}`);
  return hb.context;
}

describe('Raft thesis §6.4: linearizable reads with readIndex ("safe")', () => {
  // Raft thesis §6.4: "the leader needs to make sure it hasn't been superseded ... It issues a
  // new round of heartbeats and waits for their acknowledgments from a majority of the cluster."
  it("the leader sends a round context on a heartbeat and releases the read only after a quorum acks", () => {
    const n = steadyLeader();
    n.rn.readIndex(enc("r1"));
    const hbs = ofType(n.take(), "heartbeat");
    expect(hbs.map((m) => m.to)).toEqual(["b", "c"]);
    const round = hbs[0]!.context!;
    expect(hbs[1]!.context).toEqual(round);
    expect(reads(n)).toEqual([]);
    // A heartbeat ack without the round's context, or with the request's own, confirms nothing.
    n.step({ type: "heartbeatResponse", from: "b", term: 1 });
    n.step({ type: "heartbeatResponse", from: "b", term: 1, context: enc("r1") });
    expect(reads(n)).toEqual([]);
    // The leader and b make a quorum of three.
    n.step({ type: "heartbeatResponse", from: "b", term: 1, context: round });
    expect(reads(n)).toEqual([[1, "r1"]]);
  });

  it("no read state appears while the acks are lost, and one does once they get through", () => {
    const net = Net.of(ABC);
    net.campaign("a");
    net.drop = (m) => m.type === "heartbeatResponse";
    net.node("a").rn.readIndex(enc("r1"));
    net.settle();
    net.tick(3, ["a"]);
    expect(net.delivered("heartbeat").filter((m) => m.context !== null).length).toBeGreaterThan(0);
    expect(net.node("a").readStates).toEqual([]);
    net.heal();
    // The next periodic heartbeat carries the pending read's context again.
    net.tick(1, ["a"]);
    expect(reads(net.node("a"))).toEqual([[1, "r1"]]);
  });

  // Raft thesis §6.4: "the leader saves its current commit index in a local variable readIndex."
  it("the read state's index is the commit index when the read arrived", () => {
    const n = steadyLeader();
    const r1 = askRead(n, "r1");
    // The commit index moves on before the read is confirmed.
    n.rn.propose(enc("x"));
    n.persist();
    n.step({ type: "appendResponse", from: "c", term: 1, index: 2 });
    expect(n.r.raftLog.committed).toBe(2);
    n.step({ type: "heartbeatResponse", from: "c", term: 1, context: r1 });
    expect(reads(n)).toEqual([[1, "r1"]]);
  });

  it("one ack round releases every read that arrived before the acknowledged one", () => {
    const n = steadyLeader();
    askRead(n, "r1");
    askRead(n, "r2");
    n.rn.propose(enc("x"));
    n.persist();
    n.step({ type: "appendResponse", from: "b", term: 1, index: 2 });
    n.take();
    const r3 = askRead(n, "r3");
    const r4 = askRead(n, "r4");
    // Only r3's heartbeat is acknowledged: r1..r3 are confirmed, r4 is not.
    n.step({ type: "heartbeatResponse", from: "b", term: 1, context: r3 });
    expect(reads(n)).toEqual([
      [1, "r1"],
      [1, "r2"],
      [2, "r3"],
    ]);
    n.step({ type: "heartbeatResponse", from: "c", term: 1, context: r4 });
    expect(reads(n).slice(3)).toEqual([[2, "r4"]]);
  });

  it("concurrent reads in a cluster are all answered after a single heartbeat round", () => {
    const net = Net.of(ABC);
    net.campaign("a");
    net.trace = [];
    for (const ctx of ["r1", "r2", "r3"]) net.node("a").rn.readIndex(enc(ctx));
    // Every read sent its own heartbeats; deliver them all but keep only the last one's acks.
    const last = ofType(net.node("a").r.msgs, "heartbeat").at(-1)!.context;
    net.drop = (m) => m.type === "heartbeatResponse" && dec(m.context) !== dec(last);
    net.settle();
    expect(reads(net.node("a"))).toEqual([
      [1, "r1"],
      [1, "r2"],
      [1, "r3"],
    ]);
  });

  it("acks from a learner do not count toward the read's quorum", () => {
    const n = steadyLeader(["a", "b", "c"], { learners: ["d"] });
    const r1 = askRead(n, "r1");
    n.step({ type: "heartbeatResponse", from: "d", term: 1, context: r1 });
    expect(reads(n)).toEqual([]);
    n.step({ type: "heartbeatResponse", from: "b", term: 1, context: r1 });
    expect(reads(n)).toEqual([[1, "r1"]]);
  });

  it("a follower's read is forwarded to the leader and answered to that follower", () => {
    const net = Net.of(ABC);
    net.campaign("a");
    net.propose("a", "x");
    net.node("b").rn.readIndex(enc("rb"));
    expect(net.node("b").r.msgs.map((m) => [m.type, m.from, m.to])).toEqual([["readIndex", "b", "a"]]);
    net.settle();
    expect(reads(net.node("b"))).toEqual([[2, "rb"]]);
    expect(net.node("a").readStates).toEqual([]);
    expect(net.delivered("readIndexResponse").map((m) => m.to)).toEqual(["b"]);
  });

  it("a follower with no known leader drops the read", () => {
    const n = new UnitNode("b", { voters: ABC });
    n.rn.readIndex(enc("rb"));
    expect(n.take()).toEqual([]);
    expect(reads(n)).toEqual([]);
  });

  // Raft thesis §6.4: "If the leader has not yet marked an entry from its current term committed,
  // it waits until it has done so."
  it("a new leader holds a read until an entry of its term commits, then serves it", () => {
    const n = new UnitNode("a", { voters: ABC, terms: [1, 1], term: 1, commit: 1 });
    n.electAlone();
    n.persist();
    n.rn.readIndex(enc("r1"));
    expect(ofType(n.take(), "heartbeat")).toEqual([]);
    n.step({ type: "heartbeatResponse", from: "b", term: 2, context: enc("r1") });
    expect(reads(n)).toEqual([]);
    // The empty entry of term 2 (index 3) commits: the read proceeds with a heartbeat round.
    n.step({ type: "appendResponse", from: "b", term: 2, index: 3 });
    expect(n.r.raftLog.committed).toBe(3);
    const hbs = ofType(n.take(), "heartbeat");
    expect(hbs.length).toBe(2);
    expect(reads(n)).toEqual([]);
    n.step({ type: "heartbeatResponse", from: "c", term: 2, context: hbs[0]!.context });
    expect(reads(n)).toEqual([[3, "r1"]]);
  });

  it("a leader cut off in a minority never answers a read", () => {
    const net = Net.of(ABC);
    net.campaign("a");
    net.isolate("a");
    net.campaign("b");
    net.propose("b", "newer");
    net.node("a").rn.readIndex(enc("stale"));
    net.tick(ELECTION_TICK, ["a"]);
    expect(net.node("a").r.role).toBe("leader");
    expect(reads(net.node("a"))).toEqual([]);
  });
});

describe("reads in a single-voter cluster", () => {
  // Raft paper Figure 2: commitIndex is volatile state, so after a restart the lone voter's commit
  // index may be behind entries it committed (and acknowledged) before the crash; raftkit's
  // runtime also writes commit-only hard states lazily. Raft thesis §6.4 step 1 therefore
  // applies to a lone voter too: it must commit an entry of its term before serving reads.
  it("a restarted lone voter does not answer a read before an entry of its term commits", () => {
    // Entries 1..3 are durable and were committed before the crash; the stored commit lags at 1.
    const n = new UnitNode("a", { voters: ["a"], terms: [1, 1, 1], term: 1, commit: 1 });
    n.rn.campaign();
    expect(n.r.role).toBe("leader");
    n.rn.readIndex(enc("r1"));
    expect(n.r.readStates).toEqual([]);
    // Once its empty entry (index 4) is durable it is committed, and so is everything before it.
    expect(reads(n)).toEqual([[4, "r1"]]);
  });

  it("a lone voter answers a read at once with its commit index", () => {
    const n = new UnitNode("a", { voters: ["a"] });
    n.rn.campaign();
    n.persist();
    n.rn.propose(enc("x"));
    n.persist();
    n.rn.readIndex(enc("r1"));
    expect(n.take()).toEqual([]);
    expect(reads(n)).toEqual([[2, "r1"]]);
  });
});

describe("read contexts from different requesters never confirm each other's reads", () => {
  it("equal contexts from two followers are both answered, each to its own requester", () => {
    const n = steadyLeader();
    n.step({ type: "readIndex", from: "b", context: enc("1") });
    n.step({ type: "readIndex", from: "c", context: enc("1") });
    const beats = ofType(n.take(), "heartbeat");
    n.step({ type: "heartbeatResponse", from: "b", term: 1, context: beats.at(-1)!.context });
    const answers = ofType(n.take(), "readIndexResponse");
    expect(answers.map((m) => [m.to, dec(m.context)])).toEqual([
      ["b", "1"],
      ["c", "1"],
    ]);
  });

  // An ack may only confirm a read whose heartbeat it answers: a late ack to a round that was
  // sent before a read arrived proves nothing about leadership at the read's arrival.
  it("a late ack to an earlier round does not confirm a later read that reuses its context", () => {
    const n = steadyLeader();
    n.step({ type: "readIndex", from: "b", context: enc("1") });
    const earlier = ofType(n.take(), "heartbeat")[0]!.context;
    n.step({ type: "heartbeatResponse", from: "c", term: 1, context: earlier });
    expect(ofType(n.take(), "readIndexResponse").map((m) => m.to)).toEqual(["b"]);
    n.step({ type: "readIndex", from: "c", context: enc("1") });
    n.take();
    // b's ack to the earlier round arrives late.
    n.step({ type: "heartbeatResponse", from: "b", term: 1, context: earlier });
    expect(ofType(n.take(), "readIndexResponse")).toEqual([]);
  });

  it("a follower turns into a read state only an answer to a read it forwarded", () => {
    const n = new UnitNode("b", { voters: ABC, terms: [1], term: 1 });
    n.step({ type: "heartbeat", from: "a", term: 1 });
    n.take();
    n.step({ type: "readIndexResponse", from: "a", term: 1, index: 1, context: enc("never asked") });
    expect(reads(n)).toEqual([]);
    n.rn.readIndex(enc("asked"));
    n.step({ type: "readIndexResponse", from: "a", term: 1, index: 1, context: enc("asked") });
    expect(reads(n)).toEqual([[1, "asked"]]);
    // A duplicate of the answer is not a second read state.
    n.step({ type: "readIndexResponse", from: "a", term: 1, index: 1, context: enc("asked") });
    expect(reads(n)).toEqual([[1, "asked"]]);
  });
});
