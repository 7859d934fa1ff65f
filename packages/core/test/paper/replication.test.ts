import { describe, expect, it } from "vitest";
import type { NodeId } from "../../src/index.js";
import { Net } from "../helpers/net.js";
import { dec, enc, entriesWithTerms, ofType, steadyLeader, UnitNode } from "../helpers/unit.js";

const ABC: NodeId[] = ["a", "b", "c"];

describe("Raft paper §5.3: log replication", () => {
  // Raft paper §5.3: "The leader appends the command to its log as a new entry, then issues
  // AppendEntries RPCs in parallel to each of the other servers to replicate the entry."
  it("the leader appends a proposal to its log and sends it to every follower", () => {
    const n = steadyLeader();
    n.rn.propose(enc("x"));
    expect(n.r.raftLog.lastIndex()).toBe(2);
    expect(n.r.raftLog.term(2)).toBe(1);
    const apps = ofType(n.take(), "append");
    expect(apps.map((m) => [m.to, m.term, m.index, m.logTerm, m.commit])).toEqual([
      ["b", 1, 1, 1, 1],
      ["c", 1, 1, 1, 1],
    ]);
    for (const m of apps) {
      expect(m.entries.map((e) => [e.index, e.term, dec(e.data)])).toEqual([[2, 1, "x"]]);
    }
  });

  // Raft paper §5.3: "A log entry is committed once the leader that created the entry has
  // replicated it on a majority of the servers ... The leader keeps track of the highest index
  // it knows to be committed, and it includes that index in future AppendEntries RPCs".
  it("the leader commits an entry stored by a majority and announces the new commit index", () => {
    const n = steadyLeader();
    n.rn.propose(enc("x"));
    n.persist();
    n.take();
    expect(n.r.raftLog.committed).toBe(1);
    n.step({ type: "appendResponse", from: "b", term: 1, index: 2 });
    expect(n.r.raftLog.committed).toBe(2);
    const apps = ofType(n.take(), "append");
    expect(apps.map((m) => [m.to, m.commit])).toEqual([
      ["b", 2],
      ["c", 2],
    ]);
    // And the leader applies it.
    n.persist();
    expect(n.applied.map((e) => dec(e.data))).toContain("x");
  });

  const acks: Array<[NodeId[], NodeId[], boolean]> = [
    [["a"], [], true],
    [["a", "b", "c"], [], false],
    [["a", "b", "c"], ["b"], true],
    [["a", "b", "c", "d", "e"], ["b"], false],
    [["a", "b", "c", "d", "e"], ["b", "c"], true],
    [["a", "b", "c", "d"], ["b"], false],
    [["a", "b", "c", "d"], ["b", "c"], true],
  ];
  for (const [voters, ackers, committed] of acks) {
    it(`with ${voters.length} voters and acks from [${ackers}] the entry is ${committed ? "" : "not "}committed`, () => {
      const n = steadyLeader(voters);
      n.rn.propose(enc("x"));
      n.persist();
      for (const v of ackers) n.step({ type: "appendResponse", from: v, term: 1, index: 2 });
      expect(n.r.raftLog.committed).toBe(committed ? 2 : 1);
    });
  }

  // Raft paper §5.3: "Once a follower learns that a log entry is committed, it applies the entry
  // to its local state machine" — but it can only commit entries it holds.
  const followerCommits: Array<[number, number]> = [
    [0, 0],
    [1, 1],
    [2, 2],
    [5, 2],
  ];
  for (const [leaderCommit, want] of followerCommits) {
    it(`a follower told commit ${leaderCommit} with entries up to 2 commits ${want}`, () => {
      const n = new UnitNode("b", { voters: ABC, term: 1 });
      n.step({
        type: "append",
        from: "a",
        term: 1,
        index: 0,
        logTerm: 0,
        entries: entriesWithTerms([1, 1]),
        commit: leaderCommit,
      });
      expect(n.r.raftLog.committed).toBe(want);
      n.persist();
      expect(n.applied.map((e) => e.index)).toEqual(Array.from({ length: want }, (_, i) => i + 1));
    });
  }

  // Raft paper §5.3: "If the follower does not find an entry in its log with the same index and
  // term, then it refuses the new entries." The rejection carries a hint (etcd): the largest
  // index at or below the probe whose term is at most the probe's term.
  const checks: Array<[string, number, number, boolean, number, number, number]> = [
    // what, prev index, prev term, reject, response index, hint index, hint term
    ["before the commit index", 0, 0, false, 1, 0, 0],
    ["the matching first entry", 1, 1, false, 1, 0, 0],
    ["the matching last entry", 2, 2, false, 2, 0, 0],
    ["a term mismatch at index 2", 2, 1, true, 2, 1, 1],
    ["an index beyond the log", 3, 3, true, 3, 2, 2],
  ];
  for (const [what, index, logTerm, reject, respIndex, hint, hintTerm] of checks) {
    it(`a follower with log [1@1, 2@2] ${reject ? "rejects" : "accepts"} an append after ${what}`, () => {
      const n = new UnitNode("b", { voters: ABC, terms: [1, 2], term: 2, commit: 1 });
      n.step({ type: "append", from: "a", term: 2, index, logTerm, commit: 1 });
      const [resp] = n.take();
      expect(resp).toMatchObject({ type: "appendResponse", to: "a", term: 2, index: respIndex, reject });
      if (reject) expect([resp!.rejectHint, resp!.logTerm]).toEqual([hint, hintTerm]);
      expect(n.logTerms()).toEqual([1, 2]);
    });
  }

  // Raft paper §5.3: "If an existing entry conflicts with a new one (same index but different
  // terms), delete the existing entry and all that follow it" (Figure 2, AppendEntries step 3).
  const appends: Array<[number, number, number[], number[]]> = [
    // prev index, prev term, new entries' terms (after prev), resulting log
    [2, 2, [3], [1, 2, 3]],
    [1, 1, [3, 4], [1, 3, 4]],
    [0, 0, [1], [1, 2]],
    [0, 0, [3], [3]],
    [1, 1, [2], [1, 2]],
  ];
  for (const [index, logTerm, terms, want] of appends) {
    it(`a follower with [1, 2] appending ${JSON.stringify(terms)} after ${index}@${logTerm} ends with ${JSON.stringify(want)}`, () => {
      const n = new UnitNode("b", { voters: ABC, terms: [1, 2], term: 2 });
      n.step({
        type: "append",
        from: "a",
        term: 3,
        index,
        logTerm,
        entries: entriesWithTerms(terms, index + 1),
      });
      expect(n.take()[0]).toMatchObject({
        type: "appendResponse",
        reject: false,
        index: index + terms.length,
      });
      expect(n.logTerms()).toEqual(want);
      n.persist();
      const stored = n.storage.entries(1, n.storage.lastIndex() + 1).map((e) => e.term);
      expect(stored).toEqual(want);
    });
  }

  it("a follower keeps its longer log when a delayed, shorter append matches it", () => {
    const n = new UnitNode("b", { voters: ABC, terms: [1, 1, 1], term: 1 });
    n.step({ type: "append", from: "a", term: 1, index: 0, logTerm: 0, entries: entriesWithTerms([1]) });
    expect(n.logTerms()).toEqual([1, 1, 1]);
  });

  // Raft paper §5.3: "After a rejection, the leader decrements nextIndex and retries the
  // AppendEntries RPC." With hints it jumps straight to the likely match.
  it("after a rejection the leader retries from an earlier entry", () => {
    const n = new UnitNode("a", { voters: ABC, terms: [1, 1, 2], term: 2 });
    n.electAlone();
    n.persist();
    // The first append to b (after 3@2) was sent on election; b rejects it.
    n.step({ type: "appendResponse", from: "b", term: 3, index: 3, reject: true, rejectHint: 1, logTerm: 1 });
    const retry = ofType(n.take(), "append", "b");
    expect(
      retry.map((m) => [m.index, m.logTerm, m.entries.map((e) => `${e.index}@${e.term}`).join()]),
    ).toEqual([[1, 1, "2@1,3@2,4@3"]]);
  });

  // Raft paper §5.3, Figure 7: "When the leader at the top comes to power, it is possible that
  // any of scenarios (a–f) could occur in follower logs." All of them converge to the leader's log.
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const figure7: Record<string, number[]> = {
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  for (const [name, followerLog] of Object.entries(figure7)) {
    it(`Figure 7 (${name}): the follower's log converges to the term-8 leader's`, () => {
      // "x" holds the leader's log and gives it the vote the follower may refuse.
      const net = new Net({
        lead: { terms: leaderLog, term: 7, commit: 3 },
        f: { terms: followerLog, term: 7, commit: 3 },
        x: { terms: leaderLog, term: 7, commit: 3 },
      });
      net.campaign("lead");
      expect(net.node("lead").r.role).toBe("leader");
      expect(net.node("lead").r.term).toBe(8);
      net.propose("lead", "after");
      const want = [...leaderLog, 8, 8];
      for (const id of net.ids) {
        expect(net.node(id).logTerms()).toEqual(want);
        expect(net.node(id).r.raftLog.committed).toBe(12);
        const stored = net.node(id).storage;
        expect(stored.entries(1, stored.lastIndex() + 1).map((e) => e.term)).toEqual(want);
      }
    });
  }

  // Raft paper §5.3: "the protocol can be optimized to reduce the number of rejected
  // AppendEntries RPCs ... the leader can decrement nextIndex to bypass all of the conflicting
  // entries in that term; one AppendEntries RPC will be required for each term with conflicting
  // entries, rather than one RPC per entry."
  const stale: Array<[string, number[], number[]]> = [
    [
      "100 entries of a lower stale term",
      [1, ...Array<number>(50).fill(3)],
      [1, ...Array<number>(100).fill(2)],
    ],
    [
      "100 entries of a higher stale term",
      [1, ...Array<number>(50).fill(2), 4],
      [1, ...Array<number>(100).fill(3)],
    ],
  ];
  for (const [what, leaderTerms, followerTerms] of stale) {
    it(`a follower with ${what} converges in a few round trips, not one per entry`, () => {
      const term = Math.max(...leaderTerms, ...followerTerms);
      const net = new Net({
        lead: { terms: leaderTerms, term },
        f: { terms: followerTerms, term },
        x: { terms: leaderTerms, term },
      });
      net.campaign("lead");
      expect(net.node("f").logTerms()).toEqual([...leaderTerms, term + 1]);
      const rejections = net.trace.filter((m) => m.type === "appendResponse" && m.from === "f" && m.reject);
      const appendsToF = net.delivered("append", "f");
      expect(rejections.length).toBeGreaterThan(0);
      expect(rejections.length).toBeLessThanOrEqual(2);
      expect(appendsToF.length).toBeLessThanOrEqual(5);
    });
  }

  // etcd: a heartbeat carries commit = min(follower's match, leader's commit), so it never lets
  // a follower commit entries it may not hold (or holds in a conflicting version).
  it("a heartbeat tells each follower at most its match as the commit index", () => {
    const n = steadyLeader();
    for (let i = 0; i < 3; i++) n.rn.propose(enc(`x${i}`));
    n.persist();
    n.take();
    n.step({ type: "appendResponse", from: "b", term: 1, index: 4 });
    expect(n.r.raftLog.committed).toBe(4);
    n.take();
    n.tick();
    const hbs = ofType(n.take(), "heartbeat");
    expect(hbs.map((m) => [m.to, m.commit])).toEqual([
      ["b", 4],
      ["c", 1],
    ]);
  });

  it("a heartbeat never makes a follower commit its own conflicting entries", () => {
    const net = new Net({
      a: { terms: [1, 2, 2], term: 2 },
      b: { terms: [1, 2, 2], term: 2 },
      c: { terms: [1, 1, 1, 1], term: 2 },
    });
    // c hears heartbeats but none of the appends that would repair its log.
    net.drop = (m) => m.to === "c" && m.type === "append";
    net.campaign("a");
    expect(net.node("a").r.raftLog.committed).toBe(4);
    net.tick(3, ["a"]);
    expect(net.delivered("heartbeat", "c").length).toBeGreaterThan(0);
    expect(net.node("c").r.raftLog.committed).toBe(0);
    expect(net.node("c").applied).toEqual([]);
    net.heal();
    net.tick(1, ["a"]);
    expect(net.node("c").logTerms()).toEqual([1, 2, 2, 3]);
    expect(net.node("c").r.raftLog.committed).toBe(4);
    expect(net.node("c").applied.map((e) => e.term)).toEqual([1, 2, 2, 3]);
  });

  it("entries proposed through any node reach every log in the same order", () => {
    const net = Net.of(["a", "b", "c"]);
    net.campaign("a");
    net.propose("a", "1");
    net.propose("b", "2");
    net.propose("c", "3");
    for (const id of net.ids) {
      const data = net
        .node(id)
        .applied.filter((e) => e.data.length > 0)
        .map((e) => dec(e.data));
      expect(data).toEqual(["1", "2", "3"]);
    }
  });

  it("a new entry is appended after a leader's existing log, stamped with its term", () => {
    const n = new UnitNode("a", { voters: ["a"], terms: [1, 1], term: 1 });
    n.electAlone();
    n.rn.propose(enc("y"));
    expect(n.r.raftLog.lastIndex()).toBe(4);
    expect(n.r.raftLog.slice(3, 5).map((e) => [e.index, e.term, dec(e.data)])).toEqual([
      [3, 2, ""],
      [4, 2, "y"],
    ]);
  });
});
