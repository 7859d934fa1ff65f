import { describe, expect, it } from "vitest";
import { type NodeId, ProposalDroppedError, type ProposalDropReason } from "../../src/index.js";
import { Net } from "../helpers/net.js";
import { dec, enc, ofType, steadyLeader, UnitNode } from "../helpers/unit.js";

const ABC: NodeId[] = ["a", "b", "c"];

/** The reason `propose` was dropped with, or null if it was accepted. */
function dropReason(n: UnitNode, data = "x"): ProposalDropReason | null {
  try {
    n.rn.propose(enc(data));
    return null;
  } catch (e) {
    if (e instanceof ProposalDroppedError) return e.reason;
    throw e;
  }
}

function appliedData(n: UnitNode): string[] {
  return n.applied.filter((e) => e.data.length > 0).map((e) => dec(e.data));
}

describe("proposals", () => {
  // Raft paper §8: "If the client's first choice is not the leader, that server will reject the
  // client's request"; etcd instead forwards the proposal to the leader it knows.
  it("a follower forwards a proposal to its leader, which appends it in its own term", () => {
    const net = Net.of(ABC);
    net.campaign("a");
    net.node("b").rn.propose(enc("via b"));
    const fwd = net.node("b").r.msgs;
    expect(fwd.map((m) => [m.type, m.from, m.to])).toEqual([["propose", "b", "a"]]);
    expect(net.node("b").r.raftLog.lastIndex()).toBe(1);
    net.settle();
    expect(net.node("a").r.raftLog.term(2)).toBe(1);
    for (const id of ABC) expect(appliedData(net.node(id))).toEqual(["via b"]);
  });

  it("with disableProposalForwarding a follower drops the proposal and sends nothing", () => {
    const n = new UnitNode("b", { voters: ABC, term: 1, disableProposalForwarding: true });
    n.step({ type: "heartbeat", from: "a", term: 1 });
    n.take();
    expect(dropReason(n)).toBe("proposal forwarding disabled");
    expect(n.take()).toEqual([]);
  });

  it("disableProposalForwarding does not stop the leader itself from accepting proposals", () => {
    const n = steadyLeader(ABC, { disableProposalForwarding: true });
    expect(dropReason(n)).toBeNull();
    expect(n.r.raftLog.lastIndex()).toBe(2);
  });

  for (const role of ["follower", "preCandidate", "candidate"] as const) {
    it(`a ${role} with no leader drops the proposal with "no leader"`, () => {
      const n = new UnitNode("a", { voters: ABC, preVote: role === "preCandidate" });
      if (role !== "follower") n.rn.campaign();
      expect(n.r.role).toBe(role);
      n.take();
      expect(dropReason(n)).toBe("no leader");
      expect(n.take()).toEqual([]);
      expect(n.r.raftLog.lastIndex()).toBe(0);
    });
  }

  it("a deposed leader that has not found the new one drops proposals", () => {
    const n = steadyLeader();
    n.step({ type: "voteResponse", from: "b", term: 2, reject: true });
    expect(n.r.role).toBe("follower");
    expect(dropReason(n)).toBe("no leader");
  });

  // etcd MaxUncommittedEntriesSize: the leader bounds the payload of its uncommitted tail.
  it("maxUncommittedEntriesSize drops proposals past the limit and admits again after commit", () => {
    const n = steadyLeader(ABC, { maxUncommittedEntriesSize: 10 });
    expect(dropReason(n, "123456")).toBeNull();
    expect(dropReason(n, "123456")).toBe("uncommitted size limit");
    expect(dropReason(n, "1234")).toBeNull();
    expect(dropReason(n, "1")).toBe("uncommitted size limit");
    expect(n.r.raftLog.lastIndex()).toBe(3);
    n.persist();
    n.step({ type: "appendResponse", from: "b", term: 1, index: 3 });
    expect(n.r.raftLog.committed).toBe(3);
    // The committed entries leave the budget once handed out for applying.
    n.persist();
    expect(dropReason(n, "123456")).toBeNull();
  });

  it("maxUncommittedEntriesSize admits one oversized proposal when nothing is uncommitted", () => {
    const n = steadyLeader(ABC, { maxUncommittedEntriesSize: 10 });
    expect(dropReason(n, "x".repeat(100))).toBeNull();
    expect(dropReason(n, "y")).toBe("uncommitted size limit");
  });

  // etcd: a leader drops what a follower forwarded without failing the step, so a follower's
  // message can never make the leader's caller throw; the follower's client retries.
  it("a leader that drops a forwarded proposal does not throw from RawNode.step", () => {
    const n = steadyLeader();
    n.rn.transferLeader("c");
    n.take();
    expect(() =>
      n.step({
        type: "propose",
        from: "b",
        entries: [{ term: 0, index: 0, type: "normal", data: enc("fwd") }],
      }),
    ).not.toThrow();
    expect(n.r.raftLog.lastIndex()).toBe(1);
    // The leader's own proposal in the same state does throw.
    expect(dropReason(n)).toBe("leadership transfer in progress");
  });

  for (const role of ["follower", "candidate"] as const) {
    it(`a ${role} with no leader drops a proposal forwarded by a peer without throwing from RawNode.step`, () => {
      const n = new UnitNode("b", { voters: ABC });
      if (role === "candidate") n.rn.campaign();
      n.take();
      const fwd = {
        type: "propose" as const,
        from: "c",
        entries: [{ term: 0, index: 0, type: "normal" as const, data: enc("fwd") }],
      };
      expect(() => n.step(fwd)).not.toThrow();
      expect(n.take()).toEqual([]);
      expect(n.r.raftLog.lastIndex()).toBe(0);
    });
  }

  it("a proposal forwarded during a transfer is lost quietly on both sides", () => {
    const net = Net.of(ABC);
    net.campaign("a");
    net.isolate("c");
    net.node("a").rn.transferLeader("c");
    net.settle();
    net.node("b").rn.propose(enc("lost"));
    expect(() => net.settle()).not.toThrow();
    expect(ofType(net.trace, "propose").length).toBe(1);
    expect(net.node("a").r.raftLog.lastIndex()).toBe(1);
  });
});
