import { describe, expect, it } from "vitest";
import { type NodeId, ProposalDroppedError } from "../../src/index.js";
import { Net } from "../helpers/net.js";
import { dec, ELECTION_TICK, enc, ofType, UnitNode } from "../helpers/unit.js";

const ABC: NodeId[] = ["a", "b", "c"];

function steadyCluster(opts: { checkQuorum?: boolean; preVote?: boolean } = {}): Net {
  const net = Net.of(ABC, opts);
  net.campaign("a");
  expect(net.leaders()).toEqual(["a"]);
  return net;
}

function proposeError(n: UnitNode): unknown {
  try {
    n.rn.propose(enc("x"));
  } catch (e) {
    return e;
  }
  return null;
}

describe("Raft thesis §3.10: leadership transfer", () => {
  // Raft thesis §3.10: "the prior leader sends a TimeoutNow request to the target server. This
  // request has the same effect as the target server's election timer firing".
  for (const opts of [{}, { checkQuorum: true }, { preVote: true }, { checkQuorum: true, preVote: true }]) {
    it(`a transfer to an up-to-date follower sends timeout-now and makes it leader at term+1 ${JSON.stringify(opts)}`, () => {
      const net = steadyCluster(opts);
      net.node("a").rn.transferLeader("b");
      expect(net.node("a").r.msgs.map((m) => [m.type, m.to])).toEqual([["timeoutNow", "b"]]);
      net.settle();
      expect(net.leaders()).toEqual(["b"]);
      for (const id of ABC) {
        expect(net.node(id).r.term).toBe(2);
        expect(net.node(id).r.lead).toBe("b");
      }
      // The target campaigned at once with a real vote, never a pre-vote.
      expect(net.delivered("preVote").filter((m) => m.from === "b")).toEqual([]);
      expect(net.delivered("vote").filter((m) => m.from === "b").length).toBe(2);
    });
  }

  // Raft thesis §3.10: "The prior leader ... transfers its log entries to the target server ...
  // so that the target server has all of the leader's log entries."
  it("a transfer to a lagging follower first catches it up, then sends timeout-now", () => {
    const net = steadyCluster();
    net.isolate("c");
    net.propose("a", "while c was away");
    net.heal();
    net.trace = [];
    net.node("a").rn.transferLeader("c");
    const sent = net.node("a").r.msgs;
    expect(ofType(sent, "timeoutNow")).toEqual([]);
    expect(ofType(sent, "append", "c").length).toBe(1);
    net.settle();
    const timeoutAt = net.trace.findIndex((m) => m.type === "timeoutNow");
    const caughtUpAt = net.trace.findIndex(
      (m) => m.type === "appendResponse" && m.from === "c" && !m.reject && m.index === 2,
    );
    expect(caughtUpAt).toBeGreaterThanOrEqual(0);
    expect(timeoutAt).toBeGreaterThan(caughtUpAt);
    expect(net.leaders()).toEqual(["c"]);
    expect(net.node("c").r.term).toBe(2);
    expect(net.node("c").applied.map((e) => dec(e.data))).toContain("while c was away");
  });

  // Raft thesis §3.10: "the prior leader stops accepting new client requests" during a transfer.
  it("proposals during a transfer are dropped with 'leadership transfer in progress'", () => {
    const net = steadyCluster();
    net.isolate("c");
    net.node("a").rn.transferLeader("c");
    net.settle();
    expect(net.node("a").r.leadTransferee).toBe("c");
    const err = proposeError(net.node("a"));
    expect(err).toBeInstanceOf(ProposalDroppedError);
    expect((err as ProposalDroppedError).reason).toBe("leadership transfer in progress");
    expect(net.node("a").r.raftLog.lastIndex()).toBe(1);
  });

  // Raft thesis §3.10: "If the transfer does not complete within about one election timeout, the
  // prior leader aborts the transfer and resumes accepting client requests."
  it("a transfer whose target never answers is aborted after one election timeout", () => {
    const net = steadyCluster();
    net.isolate("c");
    net.node("a").rn.transferLeader("c");
    net.tick(ELECTION_TICK - 1, ["a"]);
    expect(net.node("a").r.leadTransferee).toBe("c");
    net.tick(1, ["a"]);
    expect(net.node("a").r.leadTransferee).toBeNull();
    expect(net.leaders()).toEqual(["a"]);
    net.propose("a", "accepted again");
    expect(net.node("b").applied.map((e) => dec(e.data))).toContain("accepted again");
  });

  it("a transfer to the leader itself is ignored", () => {
    const net = steadyCluster();
    net.node("a").rn.transferLeader("a");
    expect(net.node("a").r.leadTransferee).toBeNull();
    expect(net.node("a").r.msgs).toEqual([]);
    net.propose("a", "still leading");
    expect(net.leaders()).toEqual(["a"]);
  });

  it("a transfer to a learner is ignored", () => {
    const n = new UnitNode("a", { voters: ["a", "b"], learners: ["c"] });
    n.electAlone();
    n.rn.transferLeader("c");
    expect(n.r.leadTransferee).toBeNull();
    expect(ofType(n.take(), "timeoutNow")).toEqual([]);
    expect(proposeError(n)).toBeNull();
  });

  it("a transfer to a node outside the cluster is ignored", () => {
    const n = new UnitNode("a", { voters: ABC });
    n.electAlone();
    n.rn.transferLeader("z");
    expect(n.r.leadTransferee).toBeNull();
    expect(n.take()).toEqual([]);
  });

  it("a follower forwards a transfer request to its leader", () => {
    const net = steadyCluster();
    net.node("b").rn.transferLeader("c");
    expect(net.node("b").r.msgs.map((m) => [m.type, m.from, m.to])).toEqual([["transferLeader", "c", "a"]]);
    net.settle();
    expect(net.leaders()).toEqual(["c"]);
  });

  it("a second request for the same target does not restart the transfer's clock", () => {
    const net = steadyCluster();
    net.isolate("c");
    net.node("a").rn.transferLeader("c");
    net.tick(ELECTION_TICK - 1, ["a"]);
    net.node("a").rn.transferLeader("c");
    net.tick(1, ["a"]);
    expect(net.node("a").r.leadTransferee).toBeNull();
  });

  it("a request for another target replaces a transfer in progress", () => {
    const net = steadyCluster();
    net.isolate("c");
    net.node("a").rn.transferLeader("c");
    net.settle();
    net.heal();
    net.node("a").rn.transferLeader("b");
    net.settle();
    expect(net.leaders()).toEqual(["b"]);
  });

  it("a candidate or follower that gets timeout-now while it is not promotable does nothing", () => {
    const n = new UnitNode("c", { voters: ["a", "b"], learners: ["c"], term: 1 });
    n.step({ type: "timeoutNow", from: "a", term: 1 });
    expect(n.r.role).toBe("follower");
    expect(n.r.term).toBe(1);
  });
});
