import { describe, expect, it } from "vitest";
import type { NodeId } from "../../src/index.js";
import { Net } from "../helpers/net.js";
import { ELECTION_TICK, enc, ofType, UnitNode } from "../helpers/unit.js";

const ABC: NodeId[] = ["a", "b", "c"];

/**
 * b follows leader a at term 1 and has just heard from it. Its randomized election timeout is
 * pinned to the longest (2·electionTick - 1) so it does not campaign by itself in these tests.
 */
function followerInLease(opts: { checkQuorum: boolean }): UnitNode {
  const n = new UnitNode("b", { voters: ABC, terms: [1], term: 1, random: { int: (k) => k - 1 }, ...opts });
  n.step({ type: "heartbeat", from: "a", term: 1 });
  n.take();
  return n;
}

describe("Raft thesis §6.2: a leader steps down without a quorum (check-quorum)", () => {
  // Raft thesis §6.2: "a leader steps down if an election timeout elapses without a successful
  // round of heartbeats to a majority of its cluster".
  it("a leader that hears from no follower for an election timeout steps down, not before", () => {
    const n = new UnitNode("a", { voters: ABC, checkQuorum: true });
    n.electAlone();
    n.tick(ELECTION_TICK - 1);
    expect(n.r.role).toBe("leader");
    n.tick();
    expect(n.r.role).toBe("follower");
    expect(n.r.term).toBe(1);
    expect(n.r.lead).toBeNull();
  });

  it("a leader that hears from one follower of two keeps leading; silence for a whole timeout deposes it", () => {
    const n = new UnitNode("a", { voters: ABC, checkQuorum: true });
    n.electAlone();
    n.tick(ELECTION_TICK - 1);
    n.step({ type: "heartbeatResponse", from: "b", term: 1 });
    n.tick();
    expect(n.r.role).toBe("leader");
    // Activity is counted per timeout: b's answer does not carry over to the next one.
    n.tick(ELECTION_TICK - 1);
    expect(n.r.role).toBe("leader");
    n.tick();
    expect(n.r.role).toBe("follower");
  });

  it("an append response counts as activity as well", () => {
    const n = new UnitNode("a", { voters: ABC, checkQuorum: true });
    n.electAlone();
    n.persist();
    n.tick(ELECTION_TICK - 1);
    n.step({ type: "appendResponse", from: "c", term: 1, index: 1 });
    n.tick();
    expect(n.r.role).toBe("leader");
  });

  it("without check-quorum a leader never steps down on its own (control)", () => {
    const n = new UnitNode("a", { voters: ABC, checkQuorum: false });
    n.electAlone();
    n.tick(10 * ELECTION_TICK);
    expect(n.r.role).toBe("leader");
  });

  it("a leader with a live quorum keeps leading indefinitely, even with one follower down", () => {
    const net = Net.of(ABC, { checkQuorum: true });
    net.campaign("a");
    net.tick(5 * ELECTION_TICK, ["a"]);
    expect(net.leaders()).toEqual(["a"]);
    net.isolate("c");
    net.tick(5 * ELECTION_TICK, ["a"]);
    expect(net.leaders()).toEqual(["a"]);
    expect(net.node("a").r.term).toBe(1);
  });

  it("an isolated leader steps down within two election timeouts and the others elect a new one", () => {
    const net = Net.of(ABC, { checkQuorum: true });
    net.campaign("a");
    net.isolate("a");
    let ticks = 0;
    while (net.node("a").r.role === "leader") {
      net.tick(1, ["a"]);
      ticks++;
      if (ticks > 2 * ELECTION_TICK) throw new Error("the isolated leader did not step down");
    }
    expect(ticks).toBeGreaterThanOrEqual(ELECTION_TICK);
    net.tick(3 * ELECTION_TICK, ["b", "c"]);
    const [leader] = net.leaders();
    expect(["b", "c"]).toContain(leader);
    expect(net.node(leader!).r.term).toBeGreaterThan(1);
    // The old leader is not accepting proposals any more.
    expect(() => net.node("a").rn.propose(enc("x"))).toThrow(/no leader/);
  });
});

describe("Raft thesis §4.2.3: followers ignore disruptive vote requests while in a lease", () => {
  it("a candidate refused by the lease wins once the lease has expired", () => {
    const net = Net.of(ABC, { checkQuorum: true });
    net.campaign("a");
    // a goes silent; c campaigns at once, while b still trusts a.
    net.isolate("a");
    net.campaign("c");
    expect(net.node("c").r.role).toBe("candidate");
    expect(net.node("b").r.term).toBe(1);
    // Once b has not heard from a for an election timeout, c's next election succeeds.
    net.tick(ELECTION_TICK, ["b"]);
    net.campaign("c");
    expect(net.node("c").r.role).toBe("leader");
    expect(net.node("b").r.lead).toBe("c");
  });

  // etcd (TestFreeStuckCandidateWithCheckQuorum): a node whose term ran ahead while it was cut
  // off is not stuck forever: answering the leader's heartbeat with its term ends the old term.
  it("a node that ran ahead in term rejoins: the cluster moves to its term and elects one leader", () => {
    const net = Net.of(ABC, { checkQuorum: true });
    net.campaign("a");
    net.isolate("c");
    net.tick(5 * ELECTION_TICK, ["c"]);
    const stuck = net.node("c").r.term;
    expect(stuck).toBeGreaterThan(1);
    net.heal();
    net.tick(5 * ELECTION_TICK);
    expect(net.leaders()).toHaveLength(1);
    const term = net.node(net.leaders()[0]!).r.term;
    expect(term).toBeGreaterThanOrEqual(stuck);
    for (const id of ABC) expect(net.node(id).r.term).toBe(term);
  });

  // Raft thesis §4.2.3: "if a server receives a RequestVote request within the minimum election
  // timeout of hearing from a current leader, it does not update its term or grant its vote."
  it("a follower that heard from its leader within the election timeout ignores a higher-term vote request", () => {
    const n = followerInLease({ checkQuorum: true });
    n.step({ type: "vote", from: "c", term: 5, index: 1, logTerm: 1 });
    expect(n.r.term).toBe(1);
    expect(n.r.vote).toBeNull();
    expect(n.r.lead).toBe("a");
    expect(n.take()).toEqual([]);
  });

  it("once the election timeout passes without the leader, the same request is answered", () => {
    const n = followerInLease({ checkQuorum: true });
    n.tick(ELECTION_TICK - 1);
    n.step({ type: "vote", from: "c", term: 5, index: 1, logTerm: 1 });
    expect(n.r.term).toBe(1);
    n.tick();
    expect(n.r.role).toBe("follower");
    n.step({ type: "vote", from: "c", term: 5, index: 1, logTerm: 1 });
    expect(n.r.term).toBe(5);
    expect(n.r.vote).toBe("c");
  });

  it("a leader in its lease ignores a higher-term vote request too", () => {
    const n = new UnitNode("a", { voters: ABC, checkQuorum: true });
    n.electAlone();
    n.step({ type: "vote", from: "c", term: 5, index: 9, logTerm: 9 });
    expect(n.r.role).toBe("leader");
    expect(n.r.term).toBe(1);
  });

  it("without check-quorum the vote request deposes the leader's follower (control)", () => {
    const n = followerInLease({ checkQuorum: false });
    n.step({ type: "vote", from: "c", term: 5, index: 1, logTerm: 1 });
    expect(n.r.term).toBe(5);
    expect(n.r.vote).toBe("c");
  });

  // Raft thesis §3.10: a transfer's election must not be blocked by the lease it is replacing.
  it("a vote request of a leadership transfer bypasses the lease", () => {
    const n = followerInLease({ checkQuorum: true });
    n.step({ type: "vote", from: "c", term: 2, index: 1, logTerm: 1, context: enc("transfer") });
    expect(n.r.term).toBe(2);
    expect(n.r.vote).toBe("c");
    expect(ofType(n.take(), "voteResponse")[0]!.reject).toBe(false);
  });

  it("a pre-vote request is ignored in the lease as well", () => {
    const n = followerInLease({ checkQuorum: true });
    n.step({ type: "preVote", from: "c", term: 2, index: 1, logTerm: 1 });
    expect(n.take()).toEqual([]);
  });

  // etcd: with check-quorum a node ignores stale heartbeats but answers them with its term, so a
  // deposed leader cut off by a partition learns of the new term and steps down.
  it("a stale leader's heartbeat is answered with the current term, and the stale leader steps down", () => {
    const n = new UnitNode("b", { voters: ABC, terms: [1], term: 5, checkQuorum: true });
    n.step({ type: "heartbeat", from: "a", term: 3 });
    const [resp] = n.take();
    expect(resp).toMatchObject({ type: "appendResponse", to: "a", term: 5 });

    const old = new UnitNode("a", { voters: ABC, term: 2, checkQuorum: true });
    old.electAlone();
    old.step(resp!);
    expect(old.r.role).toBe("follower");
    expect(old.r.term).toBe(5);
  });
});
