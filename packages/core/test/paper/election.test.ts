import { describe, expect, it } from "vitest";
import type { MessageType, NodeId } from "../../src/index.js";
import { Net } from "../helpers/net.js";
import { ELECTION_TICK, entry, ofType, UnitNode } from "../helpers/unit.js";

const ABC: NodeId[] = ["a", "b", "c"];

/** A node `a` of the cluster a, b, c in the given role, at term `term`. */
function nodeInRole(role: "follower" | "preCandidate" | "candidate" | "leader", term: number): UnitNode {
  const n = new UnitNode("a", {
    voters: ABC,
    term: term - (role === "follower" ? 0 : 1),
    preVote: role === "preCandidate",
  });
  if (role === "leader") n.electAlone();
  else if (role !== "follower") n.rn.campaign();
  n.take();
  expect(n.r.role).toBe(role);
  expect(n.r.term).toBe(role === "preCandidate" ? term - 1 : term);
  return n;
}

/** Ticks a fresh follower until it starts an election; returns the number of ticks. */
function ticksUntilCampaign(seed: number): number {
  const n = new UnitNode("a", { voters: ABC, seed });
  for (let t = 1; t <= 10 * ELECTION_TICK; t++) {
    n.tick();
    if (n.r.role !== "follower") return t;
  }
  throw new Error("never campaigned");
}

describe("Raft paper §5.1: terms", () => {
  // Raft paper §5.1: "If one server's current term is smaller than the other's, then it updates
  // its current term to the larger value. If a candidate or leader discovers that its term is
  // out of date, it immediately reverts to follower state."
  const roles = ["follower", "candidate", "leader"] as const;
  const types: MessageType[] = ["append", "heartbeat", "vote", "appendResponse", "voteResponse"];
  for (const role of roles) {
    for (const type of types) {
      it(`a ${role} that receives ${type} from a higher term adopts that term and becomes a follower`, () => {
        const n = nodeInRole(role, 2);
        n.step({ type, from: "b", term: 5 });
        expect(n.r.term).toBe(5);
        expect(n.r.role).toBe("follower");
        // Only a leader's messages tell who leads the new term.
        expect(n.r.lead).toBe(type === "append" || type === "heartbeat" ? "b" : null);
      });
    }
  }

  it("a pre-candidate adopts a higher term from an append and follows its sender", () => {
    const n = nodeInRole("preCandidate", 3);
    n.step({ type: "append", from: "b", term: 7, index: 0, logTerm: 0 });
    expect(n.r.term).toBe(7);
    expect(n.r.role).toBe("follower");
    expect(n.r.lead).toBe("b");
  });

  // Raft paper §5.1: "If a server receives a request with a stale term number, it rejects the request."
  // The stale sender learns the current term from the answer (§5.1: "If a server receives a
  // request with a stale term number, it rejects the request"), and nothing else changes.
  it("a follower rejects an append from a stale term: no entries, no change, an answer with its term", () => {
    const n = new UnitNode("a", { voters: ABC, terms: [1, 2], term: 3 });
    n.step({ type: "heartbeat", from: "b", term: 3 });
    n.take();
    n.step({ type: "append", from: "c", term: 2, index: 2, logTerm: 2, entries: [entry(3, 2)], commit: 3 });
    expect(n.r.raftLog.lastIndex()).toBe(2);
    expect(n.r.raftLog.committed).toBe(0);
    expect(n.r.term).toBe(3);
    expect(n.r.lead).toBe("b");
    expect(n.take()).toMatchObject([{ type: "appendResponse", to: "c", term: 3, entries: [] }]);
  });

  it("a candidate does not count a vote granted in an earlier term", () => {
    const n = nodeInRole("candidate", 4);
    n.step({ type: "voteResponse", from: "b", term: 3 });
    n.step({ type: "voteResponse", from: "c", term: 3 });
    expect(n.r.role).toBe("candidate");
    expect(n.r.trk.votes.has("b")).toBe(false);
  });

  it("a node does not grant a vote requested for a stale term", () => {
    const n = new UnitNode("a", { voters: ABC, term: 5 });
    n.step({ type: "vote", from: "b", term: 4, index: 10, logTerm: 4 });
    expect(n.r.vote).toBeNull();
    expect(ofType(n.take(), "voteResponse").filter((m) => !m.reject)).toEqual([]);
  });
});

describe("Raft paper §5.2: leader election", () => {
  // Raft paper §5.2: "When servers start up, they begin as followers."
  it("a node starts as a follower with no leader", () => {
    const n = new UnitNode("a", { voters: ABC, terms: [1, 1], term: 1 });
    expect(n.r.role).toBe("follower");
    expect(n.r.lead).toBeNull();
  });

  // Raft paper §5.2: "Raft uses randomized election timeouts ... chosen randomly from a fixed
  // interval"; here the interval is [electionTick, 2·electionTick).
  it("a follower's election timeout is drawn from [electionTick, 2·electionTick) and covers it", () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 300; seed++) {
      const t = ticksUntilCampaign(seed);
      expect(t).toBeGreaterThanOrEqual(ELECTION_TICK);
      expect(t).toBeLessThan(2 * ELECTION_TICK);
      seen.add(t);
    }
    expect([...seen].sort((x, y) => x - y)).toEqual(
      Array.from({ length: ELECTION_TICK }, (_, i) => ELECTION_TICK + i),
    );
  });

  // Raft paper §5.2: "each candidate restarts its randomized election timeout at the start of an election".
  it("a candidate that hears nothing starts a new election after a fresh randomized timeout", () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 300; seed++) {
      const n = new UnitNode("a", { voters: ABC, seed });
      n.rn.campaign();
      expect(n.r.term).toBe(1);
      let t = 0;
      while (n.r.term === 1) {
        n.tick();
        t++;
        if (t > 2 * ELECTION_TICK) throw new Error("candidate never re-campaigned");
      }
      expect(n.r.role).toBe("candidate");
      expect(n.r.term).toBe(2);
      expect(t).toBeGreaterThanOrEqual(ELECTION_TICK);
      expect(t).toBeLessThan(2 * ELECTION_TICK);
      seen.add(t);
    }
    expect(seen.size).toBe(ELECTION_TICK);
  });

  // Raft paper §5.2: "A server remains in follower state as long as it receives valid RPCs from a leader".
  it("a follower that keeps hearing from its leader never campaigns", () => {
    const n = new UnitNode("a", { voters: ABC, term: 1 });
    for (let round = 0; round < 10; round++) {
      n.tick(ELECTION_TICK - 1);
      n.step({ type: "heartbeat", from: "b", term: 1 });
    }
    expect(n.r.role).toBe("follower");
    n.tick(2 * ELECTION_TICK);
    expect(n.r.role).toBe("candidate");
  });

  // Raft paper §5.2: "a follower increments its current term and transitions to candidate state.
  // It then votes for itself and issues RequestVote RPCs in parallel to each of the other servers".
  it("a candidate increments its term, votes for itself and asks every other voter", () => {
    const n = new UnitNode("a", { voters: ["a", "b", "c", "d"], terms: [1, 1, 2], term: 2 });
    while (n.r.role === "follower") n.tick();
    expect(n.r.role).toBe("candidate");
    expect(n.r.term).toBe(3);
    expect(n.r.vote).toBe("a");
    expect(n.r.trk.votes.get("a")).toBe(true);
    const votes = n.take();
    expect(votes.map((m) => [m.type, m.to, m.term, m.index, m.logTerm])).toEqual([
      ["vote", "b", 3, 3, 2],
      ["vote", "c", 3, 3, 2],
      ["vote", "d", 3, 3, 2],
    ]);
  });

  // Raft paper §5.2: "Each server will vote for at most one candidate in a given term, on a
  // first-come-first-served basis".
  it("a node grants one vote per term: a second candidate is refused, the same one again is granted", () => {
    const n = new UnitNode("a", { voters: ABC, term: 1, terms: [1] });
    const ask = (from: NodeId) => {
      n.step({ type: "vote", from, term: 2, index: 1, logTerm: 1 });
      const [resp] = ofType(n.take(), "voteResponse", from);
      return resp!.reject ? "rejected" : "granted";
    };
    expect(ask("b")).toBe("granted");
    expect(n.r.vote).toBe("b");
    expect(ask("c")).toBe("rejected");
    expect(ask("b")).toBe("granted");
    expect(n.r.vote).toBe("b");
    // The vote reaches stable storage with the term.
    n.persist();
    expect(n.storage.initialState().hardState).toMatchObject({ term: 2, vote: "b" });
  });

  it("a node refuses a vote in a term where it already follows a leader (etcd)", () => {
    const n = new UnitNode("a", { voters: ABC, term: 2, terms: [1] });
    n.step({ type: "heartbeat", from: "b", term: 2 });
    n.take();
    n.step({ type: "vote", from: "c", term: 2, index: 5, logTerm: 2 });
    expect(ofType(n.take(), "voteResponse")[0]!.reject).toBe(true);
  });

  // Raft paper §5.2: "A candidate wins an election if it receives votes from a majority of the
  // servers in the full cluster for the same term."
  const outcomes: Array<[number, Record<NodeId, boolean>, string]> = [
    [1, {}, "leader"],
    [3, { b: true, c: true }, "leader"],
    [3, { b: true }, "leader"],
    [5, { b: true, c: true, d: true, e: true }, "leader"],
    [5, { b: true, c: true }, "leader"],
    [5, { b: true, c: false, d: true }, "leader"],
    [3, {}, "candidate"],
    [5, { b: true }, "candidate"],
    [5, { b: true, c: false, d: false }, "candidate"],
    [3, { b: false, c: false }, "follower"],
    [5, { b: false, c: false, d: false }, "follower"],
    [5, { b: true, c: false, d: false, e: false }, "follower"],
  ];
  for (const [size, votes, want] of outcomes) {
    it(`with ${size} voters and votes ${JSON.stringify(votes)} a candidate becomes ${want}`, () => {
      const voters = ["a", "b", "c", "d", "e"].slice(0, size);
      const n = new UnitNode("a", { voters });
      n.rn.campaign();
      for (const [from, granted] of Object.entries(votes)) {
        n.step({ type: "voteResponse", from, term: 1, reject: !granted });
      }
      expect(n.r.role).toBe(want);
      expect(n.r.term).toBe(1);
    });
  }

  // Raft paper §5.2: "If the leader's term ... is at least as large as the candidate's current
  // term, then the candidate recognizes the leader as legitimate and returns to follower state."
  for (const [what, term] of [
    ["its own term", 2],
    ["a higher term", 3],
  ] as const) {
    for (const type of ["append", "heartbeat"] as const) {
      it(`a candidate becomes a follower on ${type} from a leader of ${what}`, () => {
        const n = nodeInRole("candidate", 2);
        n.step({ type, from: "b", term, index: 0, logTerm: 0 });
        expect(n.r.role).toBe("follower");
        expect(n.r.term).toBe(term);
        expect(n.r.lead).toBe("b");
        // ... and answers it as a follower would.
        expect(n.take().map((m) => m.type)).toEqual([
          type === "append" ? "appendResponse" : "heartbeatResponse",
        ]);
      });
    }
  }

  it("a candidate stays a candidate when an append comes from a stale leader", () => {
    const n = nodeInRole("candidate", 3);
    n.step({ type: "append", from: "b", term: 2, index: 0, logTerm: 0 });
    expect(n.r.role).toBe("candidate");
    expect(n.r.term).toBe(3);
  });

  // Raft paper §5.2: "votes could be split so that no candidate obtains a majority. When this
  // happens, each candidate will time out and start a new election by incrementing its term".
  it("a split vote leaves both candidates waiting; a later election resolves it", () => {
    const net = Net.of(["a", "b", "c"]);
    net.isolate("c");
    net.node("a").rn.campaign();
    net.node("b").rn.campaign();
    net.settle();
    for (const id of ["a", "b"]) {
      expect(net.node(id).r.role).toBe("candidate");
      expect(net.node(id).r.term).toBe(1);
    }
    expect(net.leaders()).toEqual([]);

    // Randomized timeouts make one of them time out first and win the next term.
    for (let i = 0; i < 4 * ELECTION_TICK && net.leaders().length === 0; i++) net.tick(1, ["a", "b"]);
    const [leader] = net.leaders();
    expect(net.leaders()).toHaveLength(1);
    const other = leader === "a" ? "b" : "a";
    const lt = net.node(leader!).r.term;
    expect(lt).toBeGreaterThan(1);
    expect(net.node(other).r.role).toBe("follower");
    expect(net.node(other).r.term).toBe(lt);
    expect(net.node(other).r.lead).toBe(leader);
  });

  it("when two candidates race and a third voter answers both, the first to ask wins and the other concedes", () => {
    const net = Net.of(["a", "b", "c"]);
    net.node("a").rn.campaign();
    net.node("b").rn.campaign();
    net.settle();
    // c received a's request first (a's Ready is processed first) and voted for a.
    expect(net.node("c").r.vote).toBe("a");
    expect(net.leaders()).toEqual(["a"]);
    expect(net.node("b").r.role).toBe("follower");
    expect(net.node("b").r.lead).toBe("a");
  });

  // Raft paper §5.2: "Leaders send periodic heartbeats ... to all followers in order to maintain their authority."
  it("a leader sends a heartbeat to every follower each heartbeatTick", () => {
    const n = new UnitNode("a", { voters: ABC, heartbeatTick: 3 });
    n.electAlone();
    for (let beat = 0; beat < 3; beat++) {
      n.tick(2);
      expect(ofType(n.take(), "heartbeat")).toEqual([]);
      n.tick();
      const hbs = ofType(n.take(), "heartbeat");
      expect(hbs.map((m) => [m.to, m.term])).toEqual([
        ["b", 1],
        ["c", 1],
      ]);
    }
  });

  it("a heartbeat keeps a follower from campaigning for as long as the leader lives", () => {
    const net = Net.of(["a", "b", "c"]);
    net.campaign("a");
    net.tick(20 * ELECTION_TICK);
    expect(net.leaders()).toEqual(["a"]);
    expect(net.node("b").r.term).toBe(1);
    expect(net.node("c").r.term).toBe(1);
  });
});
