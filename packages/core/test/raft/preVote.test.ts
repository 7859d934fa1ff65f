import { describe, expect, it } from "vitest";
import type { NodeId } from "../../src/index.js";
import { Net } from "../helpers/net.js";
import { ELECTION_TICK, ofType, UnitNode } from "../helpers/unit.js";

const ABC: NodeId[] = ["a", "b", "c"];

/** a leads a, b, c at term 1; then c is cut off for ten election timeouts while a commits an entry. */
function partitionedFollower(preVote: boolean): Net {
  const net = Net.of(ABC, { preVote });
  net.campaign("a");
  expect(net.leaders()).toEqual(["a"]);
  expect(net.node("a").r.term).toBe(1);
  net.isolate("c");
  net.propose("a", "while c was away");
  net.tick(10 * ELECTION_TICK);
  return net;
}

describe("Raft thesis §9.6: pre-vote", () => {
  // Raft thesis §9.6: "a candidate would only increment its term if it first learns from a
  // majority of the cluster that they would be willing to grant the candidate their votes".
  it("a partitioned node with pre-vote does not increase its term while cut off", () => {
    const net = partitionedFollower(true);
    const c = net.node("c").r;
    expect(c.term).toBe(1);
    expect(c.role).toBe("preCandidate");
    // Its term-1 vote (for a) still stands: pre-candidacy does not vote.
    expect(c.vote).toBe("a");
  });

  it("when the pre-vote node rejoins it does not disrupt the leader", () => {
    const net = partitionedFollower(true);
    net.heal();
    net.tick(3 * ELECTION_TICK);
    expect(net.leaders()).toEqual(["a"]);
    for (const id of ABC) expect(net.node(id).r.term).toBe(1);
    expect(net.node("c").r.lead).toBe("a");
    expect(net.node("c").r.raftLog.committed).toBe(net.node("a").r.raftLog.committed);
  });

  // The control: without pre-vote the same node inflates its term and deposes the leader.
  it("without pre-vote the rejoining node disrupts the leader (control)", () => {
    const net = partitionedFollower(false);
    const cTerm = net.node("c").r.term;
    expect(cTerm).toBeGreaterThan(1);
    net.heal();
    net.tick(3 * ELECTION_TICK);
    expect(net.node("a").r.term).toBeGreaterThanOrEqual(cTerm);
    const [leader] = net.leaders();
    // c's log is behind, so it cannot win, but the old leadership is gone.
    expect(leader).not.toBe("c");
    expect(net.node(leader!).r.term).toBeGreaterThan(1);
  });

  it("with pre-vote and check-quorum, a rejoining node with an up-to-date log does not disrupt either", () => {
    const net = Net.of(ABC, { preVote: true, checkQuorum: true });
    net.campaign("a");
    net.isolate("c");
    net.tick(10 * ELECTION_TICK, ["c"]);
    net.heal();
    net.tick(3 * ELECTION_TICK);
    expect(net.leaders()).toEqual(["a"]);
    for (const id of ABC) expect(net.node(id).r.term).toBe(1);
  });

  // Raft thesis §9.6: pre-votes are granted under the same log condition as votes (§5.4.1).
  const logs: Array<[string, number, number, boolean]> = [
    ["the same last entry", 2, 2, true],
    ["a longer log of the same last term", 3, 2, true],
    ["a higher last term", 1, 3, true],
    ["a shorter log of the same last term", 1, 2, false],
    ["a lower last term", 9, 1, false],
  ];
  for (const [what, index, logTerm, granted] of logs) {
    it(`a pre-vote for a candidate with ${what} is ${granted ? "granted" : "refused"}, and changes nothing on the voter`, () => {
      const n = new UnitNode("b", { voters: ABC, terms: [1, 2], term: 2, preVote: true });
      n.step({ type: "preVote", from: "c", term: 3, index, logTerm });
      const [resp] = n.take();
      expect(resp).toMatchObject({ type: "preVoteResponse", to: "c", reject: !granted });
      // A grant answers for the future term; a refusal carries the voter's term.
      expect(resp!.term).toBe(granted ? 3 : 2);
      expect(n.r.term).toBe(2);
      expect(n.r.vote).toBeNull();
      expect(n.r.role).toBe("follower");
    });
  }

  it("a pre-vote is granted by a node that already voted in its current term, without resetting its timer", () => {
    const n = new UnitNode("b", { voters: ABC, terms: [1], term: 2, vote: "a", preVote: true });
    n.tick(5);
    n.step({ type: "preVote", from: "c", term: 3, index: 1, logTerm: 1 });
    expect(n.take()).toMatchObject([{ type: "preVoteResponse", to: "c", reject: false }]);
    expect(n.r.vote).toBe("a");
    expect(n.r.electionElapsed).toBe(5);
  });

  it("a pre-candidate asks for term+1 without changing its own term or vote", () => {
    const n = new UnitNode("a", { voters: ABC, terms: [1, 2], term: 2, vote: "b", preVote: true });
    n.rn.campaign();
    expect(n.r.role).toBe("preCandidate");
    expect(n.r.term).toBe(2);
    expect(n.r.vote).toBe("b");
    expect(n.take().map((m) => [m.type, m.to, m.term, m.index, m.logTerm])).toEqual([
      ["preVote", "b", 3, 2, 2],
      ["preVote", "c", 3, 2, 2],
    ]);
    n.persist();
    expect(n.storage.initialState().hardState).toMatchObject({ term: 2, vote: "b" });
  });

  it("a pre-candidate that loses the pre-vote stays at its term as a follower", () => {
    const n = new UnitNode("a", { voters: ABC, terms: [1], term: 2, preVote: true });
    n.rn.campaign();
    n.step({ type: "preVoteResponse", from: "b", term: 2, reject: true });
    expect(n.r.role).toBe("preCandidate");
    n.step({ type: "preVoteResponse", from: "c", term: 2, reject: true });
    expect(n.r.role).toBe("follower");
    expect(n.r.term).toBe(2);
    expect(n.r.vote).toBeNull();
  });

  it("a pre-candidate that wins the pre-vote starts a real election at term+1", () => {
    const n = new UnitNode("a", { voters: ABC, terms: [1], term: 2, preVote: true });
    n.rn.campaign();
    n.take();
    n.step({ type: "preVoteResponse", from: "b", term: 3 });
    expect(n.r.role).toBe("candidate");
    expect(n.r.term).toBe(3);
    expect(n.r.vote).toBe("a");
    expect(ofType(n.take(), "vote").map((m) => [m.to, m.term])).toEqual([
      ["b", 3],
      ["c", 3],
    ]);
  });

  it("a pre-candidate refused by a node at a higher term adopts that term", () => {
    const n = new UnitNode("a", { voters: ABC, terms: [1], term: 2, preVote: true });
    n.rn.campaign();
    n.step({ type: "preVoteResponse", from: "b", term: 7, reject: true });
    expect(n.r.role).toBe("follower");
    expect(n.r.term).toBe(7);
  });

  it("a node at a higher term refuses a stale pre-vote and tells its term", () => {
    const n = new UnitNode("b", { voters: ABC, terms: [1], term: 5, preVote: true });
    n.step({ type: "preVote", from: "c", term: 3, index: 9, logTerm: 1 });
    expect(n.take().map((m) => [m.type, m.term, m.reject])).toEqual([["preVoteResponse", 5, true]]);
  });

  it("a cluster with pre-vote elects a leader at term 1 (pre-vote itself costs no term)", () => {
    const net = Net.of(ABC, { preVote: true });
    net.campaign("b");
    expect(net.leaders()).toEqual(["b"]);
    for (const id of ABC) expect(net.node(id).r.term).toBe(1);
  });
});
