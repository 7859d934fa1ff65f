import { describe, expect, it } from "vitest";
import { encodeConfChange, message, RawNode } from "../../src/index.js";
import { newStorage, UnitNode } from "../helpers/unit.js";

// A refused vote says how far the voter knows the log to be committed. Same index and term
// means the same log up to there (Raft paper §5.3), so a node that holds that entry commits it.
describe("commit learnt from a refused vote", () => {
  it("a voter that refuses a shorter log answers with its commit index and the term there", () => {
    const voter = new UnitNode("d", { voters: ["a", "b", "d"], terms: [1, 1, 2, 2], commit: 3 });
    voter.step({ type: "preVote", from: "a", term: 3, index: 3, logTerm: 2 });
    expect(voter.take()).toMatchObject([
      { type: "preVoteResponse", to: "a", term: 2, reject: true, commit: 3, logTerm: 2 },
    ]);
  });

  it("a candidate holding the voter's committed entry commits up to it", () => {
    const a = new UnitNode("a", { voters: ["a", "b", "d"], terms: [1, 1, 2], commit: 1, preVote: true });
    a.stepLocal({ type: "hup" });
    expect(a.r.role).toBe("preCandidate");
    a.step({ type: "preVoteResponse", from: "d", term: 2, reject: true, commit: 3, logTerm: 2 });
    expect(a.r.raftLog.committed).toBe(3);
  });

  it("a different entry at that index, or none, teaches nothing", () => {
    const a = new UnitNode("a", { voters: ["a", "b", "d"], terms: [1, 1, 1], commit: 1, preVote: true });
    a.stepLocal({ type: "hup" });
    a.step({ type: "preVoteResponse", from: "d", term: 2, reject: true, commit: 3, logTerm: 2 });
    a.step({ type: "preVoteResponse", from: "b", term: 2, reject: true, commit: 4, logTerm: 1 });
    expect(a.r.raftLog.committed).toBe(1);
  });

  it("a refusal from a later term makes the candidate follow and still teaches it the commit", () => {
    const a = new UnitNode("a", { voters: ["a", "b", "d"], terms: [1, 1, 2], commit: 1 });
    a.stepLocal({ type: "hup" });
    expect(a.r.role).toBe("candidate");
    a.step({ type: "voteResponse", from: "d", term: 7, reject: true, commit: 3, logTerm: 2 });
    expect(a.r.role).toBe("follower");
    expect(a.r.term).toBe(7);
    expect(a.r.raftLog.committed).toBe(3);
  });

  it("a candidate that learns a committed configuration change gives up its campaign until it has applied it", () => {
    const storage = newStorage({ voters: ["a", "b", "c", "d"], terms: [1, 1], commit: 2 });
    // Entry 3 removes a; a holds it, but learns only from d's refusal that it committed.
    const removal = encodeConfChange({ transition: "auto", changes: [{ type: "removeNode", nodeId: "a" }] });
    storage.append([{ index: 3, term: 2, type: "confChange", data: removal }]);
    const a = new RawNode({ id: "a", storage, electionTick: 10, heartbeatTick: 1 });
    a.campaign();
    const term = a.raft.term;
    expect(a.raft.role).toBe("candidate");
    a.step(message({ type: "voteResponse", from: "b", to: "a", term }));
    a.step(message({ type: "voteResponse", from: "d", to: "a", term, reject: true, commit: 3, logTerm: 2 }));
    expect(a.raft.raftLog.committed).toBe(3);
    expect(a.raft.role).toBe("follower");
    // With c's vote a would have had a majority of the configuration it applied, which no longer counts.
    a.step(message({ type: "voteResponse", from: "c", to: "a", term }));
    expect(a.raft.role).toBe("follower");
  });
});
