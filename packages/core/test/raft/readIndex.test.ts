import { describe, expect, it } from "vitest";
import { ConfigError, MemoryStorage, type NodeId, RawNode } from "../../src/index.js";
import { Net } from "../helpers/net.js";
import { dec, ELECTION_TICK, enc, ofType, steadyLeader, UnitNode } from "../helpers/unit.js";

const ABC: NodeId[] = ["a", "b", "c"];

/** The read states a node produced, as [index, context] pairs. */
function reads(n: UnitNode): Array<[number, string]> {
  n.persist();
  return n.readStates.map((rs) => [rs.index, dec(rs.requestCtx)]);
}

describe('Raft thesis §6.4: linearizable reads with readIndex ("safe")', () => {
  // Raft thesis §6.4: "the leader needs to make sure it hasn't been superseded ... It issues a
  // new round of heartbeats and waits for their acknowledgments from a majority of the cluster."
  it("the leader sends the read's context on a heartbeat and releases it only after a quorum acks", () => {
    const n = steadyLeader();
    n.rn.readIndex(enc("r1"));
    const hbs = ofType(n.take(), "heartbeat");
    expect(hbs.map((m) => [m.to, dec(m.context)])).toEqual([
      ["b", "r1"],
      ["c", "r1"],
    ]);
    expect(reads(n)).toEqual([]);
    // A heartbeat ack without the context, or with another context, confirms nothing.
    n.step({ type: "heartbeatResponse", from: "b", term: 1 });
    n.step({ type: "heartbeatResponse", from: "b", term: 1, context: enc("other") });
    expect(reads(n)).toEqual([]);
    // The leader and b make a quorum of three.
    n.step({ type: "heartbeatResponse", from: "b", term: 1, context: enc("r1") });
    expect(reads(n)).toEqual([[1, "r1"]]);
  });

  it("no read state appears while the acks are lost, and one does once they get through", () => {
    const net = Net.of(ABC);
    net.campaign("a");
    net.drop = (m) => m.type === "heartbeatResponse";
    net.node("a").rn.readIndex(enc("r1"));
    net.settle();
    net.tick(3, ["a"]);
    expect(net.delivered("heartbeat").filter((m) => dec(m.context) === "r1").length).toBeGreaterThan(0);
    expect(net.node("a").readStates).toEqual([]);
    net.heal();
    // The next periodic heartbeat carries the pending read's context again.
    net.tick(1, ["a"]);
    expect(reads(net.node("a"))).toEqual([[1, "r1"]]);
  });

  // Raft thesis §6.4: "the leader saves its current commit index in a local variable readIndex."
  it("the read state's index is the commit index when the read arrived", () => {
    const n = steadyLeader();
    n.rn.readIndex(enc("r1"));
    // The commit index moves on before the read is confirmed.
    n.rn.propose(enc("x"));
    n.persist();
    n.step({ type: "appendResponse", from: "c", term: 1, index: 2 });
    expect(n.r.raftLog.committed).toBe(2);
    n.step({ type: "heartbeatResponse", from: "c", term: 1, context: enc("r1") });
    expect(reads(n)).toEqual([[1, "r1"]]);
  });

  it("one ack round releases every read that arrived before the acknowledged one", () => {
    const n = steadyLeader();
    n.rn.readIndex(enc("r1"));
    n.rn.readIndex(enc("r2"));
    n.rn.propose(enc("x"));
    n.persist();
    n.step({ type: "appendResponse", from: "b", term: 1, index: 2 });
    n.rn.readIndex(enc("r3"));
    n.rn.readIndex(enc("r4"));
    n.take();
    // Only r3's heartbeat is acknowledged: r1..r3 are confirmed, r4 is not.
    n.step({ type: "heartbeatResponse", from: "b", term: 1, context: enc("r3") });
    expect(reads(n)).toEqual([
      [1, "r1"],
      [1, "r2"],
      [2, "r3"],
    ]);
    n.step({ type: "heartbeatResponse", from: "c", term: 1, context: enc("r4") });
    expect(reads(n).slice(3)).toEqual([[2, "r4"]]);
  });

  it("concurrent reads in a cluster are all answered after a single heartbeat round", () => {
    const net = Net.of(ABC);
    net.campaign("a");
    net.trace = [];
    for (const ctx of ["r1", "r2", "r3"]) net.node("a").rn.readIndex(enc(ctx));
    // Every read sent its own heartbeats; deliver them all but keep only the last one's acks.
    net.drop = (m) => m.type === "heartbeatResponse" && dec(m.context) !== "r3";
    net.settle();
    expect(reads(net.node("a"))).toEqual([
      [1, "r1"],
      [1, "r2"],
      [1, "r3"],
    ]);
  });

  it("acks from a learner do not count toward the read's quorum", () => {
    const n = steadyLeader(["a", "b", "c"], { learners: ["d"] });
    n.rn.readIndex(enc("r1"));
    n.step({ type: "heartbeatResponse", from: "d", term: 1, context: enc("r1") });
    expect(reads(n)).toEqual([]);
    n.step({ type: "heartbeatResponse", from: "b", term: 1, context: enc("r1") });
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
    expect(hbs.map((m) => dec(m.context))).toEqual(["r1", "r1"]);
    expect(reads(n)).toEqual([]);
    n.step({ type: "heartbeatResponse", from: "c", term: 2, context: enc("r1") });
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

describe("Raft thesis §6.4.1: lease-based reads", () => {
  // Raft thesis §6.4.1: the leader "would use the heartbeat mechanism to maintain a lease ... it
  // would then reply to read-only queries without communicating with the other servers".
  it('with readOnly "lease" the leader answers at once, without a heartbeat round', () => {
    const net = Net.of(ABC, { readOnly: "lease", checkQuorum: true });
    net.campaign("a");
    // One acknowledged heartbeat round establishes the lease.
    net.tick(1);
    net.drop = () => true;
    net.node("a").rn.readIndex(enc("r1"));
    expect(ofType(net.node("a").r.msgs, "heartbeat")).toEqual([]);
    expect(reads(net.node("a"))).toEqual([[1, "r1"]]);
  });

  it("a lease read is forwarded from a follower and answered without a heartbeat round", () => {
    const net = Net.of(ABC, { readOnly: "lease", checkQuorum: true });
    net.campaign("a");
    net.tick(1);
    net.trace = [];
    net.node("c").rn.readIndex(enc("rc"));
    net.settle();
    expect(reads(net.node("c"))).toEqual([[1, "rc"]]);
    expect(net.delivered("heartbeat")).toEqual([]);
  });

  // The lease rests on voters refusing to elect anyone else for an election timeout (thesis
  // §4.2.3, §6.4.1). A transfer's election bypasses that refusal (§3.10), so once a leader has
  // sent TimeoutNow a new leader may exist at any moment: its lease no longer proves anything
  // (etcd-io/raft#99, etcd-io/etcd#12704; TiKV and openraft revoke the lease on transfer).
  it("a leader that sent timeout-now no longer answers lease reads on its own", () => {
    const net = Net.of(ABC, { readOnly: "lease", checkQuorum: true });
    net.campaign("a");
    // a hands over to b, and is cut off right after its TimeoutNow leaves.
    net.drop = (m) => (m.from === "a" || m.to === "a") && m.type !== "timeoutNow";
    net.node("a").rn.transferLeader("b");
    net.settle();
    expect(net.node("b").r.role).toBe("leader");
    net.propose("b", "newer");
    expect(net.node("b").r.raftLog.committed).toBe(3);
    // a still believes it leads term 1; a read it answers now would miss "newer".
    expect(net.node("a").r.role).toBe("leader");
    net.node("a").rn.readIndex(enc("during"));
    expect(reads(net.node("a"))).toEqual([]);
    // Nor after the transfer timed out and a resumed leading (if it still leads then).
    net.tick(ELECTION_TICK, ["a"]);
    if (net.node("a").r.role === "leader") {
      net.node("a").rn.readIndex(enc("after"));
      expect(reads(net.node("a"))).toEqual([]);
    }
  });

  // Raft thesis §6.4.1: once a majority acknowledged heartbeats sent at `start`, the leader may
  // answer reads locally until `start + election timeout` (less a clock drift bound): until then
  // no other server can have been elected. check-quorum alone only deposes the leader after up
  // to two election timeouts (etcd-io/raft#166), which leaves a window with two leaders.
  it("a leader cut off from its quorum stops answering lease reads before another leader can be elected", () => {
    const net = new Net(
      // Pinned election timeouts: b times out after exactly electionTick, c after the longest.
      { a: {}, b: { random: { int: () => 0 } }, c: { random: { int: (k) => k - 1 } } },
      { readOnly: "lease", checkQuorum: true },
    );
    net.campaign("a");
    // One heartbeat round acknowledged by b and c, then a is cut off.
    net.tick(1);
    net.isolate("a");
    let ticks = 0;
    while (net.leaders().length < 2) {
      net.tick(1);
      ticks++;
      if (ticks > 2 * ELECTION_TICK) throw new Error("no second leader appeared while a still led");
    }
    const [, other] = net.leaders().sort((x, y) => net.node(x).r.term - net.node(y).r.term);
    expect(other).toBe("b");
    net.propose("b", "newer");
    expect(net.node("b").r.raftLog.committed).toBe(3);
    // a's last acknowledged heartbeat round is more than an election timeout old: no lease.
    expect(net.node("a").r.role).toBe("leader");
    net.node("a").rn.readIndex(enc("stale?"));
    expect(reads(net.node("a"))).toEqual([]);
  });

  it("a lease read also waits for the new leader's first commit", () => {
    const n = new UnitNode("a", { voters: ABC, readOnly: "lease", checkQuorum: true });
    n.electAlone();
    n.persist();
    // A heartbeat sent at leader tick 1 and acknowledged by b gives a lease ({a, b} is a quorum).
    n.rn.tick();
    n.step({ type: "heartbeatResponse", from: "b", term: 1, index: 1 });
    n.rn.readIndex(enc("r1"));
    expect(reads(n)).toEqual([]);
    n.step({ type: "appendResponse", from: "b", term: 1, index: 1 });
    expect(reads(n)).toEqual([[1, "r1"]]);
  });

  it('readOnly "lease" without checkQuorum is refused by config validation', () => {
    const make = () =>
      new RawNode({
        id: "a",
        storage: new MemoryStorage(),
        electionTick: 10,
        heartbeatTick: 1,
        readOnly: "lease",
      });
    expect(make).toThrow(ConfigError);
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
