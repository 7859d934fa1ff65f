import { describe, expect, it } from "vitest";
import type { Message, NodeId } from "../../src/index.js";
import { Net } from "../helpers/net.js";
import { dec, enc, ofType, UnitNode } from "../helpers/unit.js";

const ABC: NodeId[] = ["a", "b", "c"];

/** Every (index, term) a node ever applied, for checking that committed entries never change. */
function appliedIds(net: Net): Map<number, number> {
  const seen = new Map<number, number>();
  for (const id of net.ids) {
    for (const e of net.node(id).applied) {
      const t = seen.get(e.index);
      if (t !== undefined) expect(e.term, `index ${e.index} applied with two terms`).toBe(t);
      seen.set(e.index, e.term);
    }
  }
  return seen;
}

describe("Raft paper §5.4.1: election restriction", () => {
  // Raft paper §5.4.1: "the voter denies its vote if its own log is more up-to-date than that of
  // the candidate ... If the logs have last entries with different terms, then the log with the
  // later term is more up-to-date. If the logs end with the same term, then whichever log is
  // longer is more up-to-date."
  const cases: Array<[string, number[], number, number, boolean]> = [
    // what, voter's log terms, candidate's last term, candidate's last index, granted
    ["same last term, same length", [1, 1], 1, 2, true],
    ["same last term, candidate longer", [1, 1], 1, 3, true],
    ["same last term, candidate shorter", [1, 1], 1, 1, false],
    ["candidate's last term higher, shorter log", [1, 1, 1], 2, 1, true],
    ["candidate's last term higher, same length", [1, 1], 2, 2, true],
    ["voter's last term higher, candidate longer", [1, 2], 1, 5, false],
    ["voter's last term higher, same length", [1, 2], 1, 2, false],
    ["voter empty", [], 1, 1, true],
    ["candidate empty, voter not", [1], 0, 0, false],
  ];
  for (const [what, voterLog, logTerm, index, granted] of cases) {
    it(`a voter ${granted ? "grants" : "denies"} its vote when ${what}`, () => {
      const n = new UnitNode("a", { voters: ABC, terms: voterLog, term: 2 });
      n.step({ type: "vote", from: "b", term: 3, index, logTerm });
      const [resp] = ofType(n.take(), "voteResponse");
      expect(resp!.reject).toBe(!granted);
      expect(n.r.vote).toBe(granted ? "b" : null);
      // Either way the voter moved to the candidate's term.
      expect(n.r.term).toBe(3);
    });
  }

  // Raft paper §5.4.1: "a candidate must contact a majority of the cluster in order to be
  // elected, which means that every committed entry must be present in at least one of those servers."
  it("a node missing a committed entry cannot be elected; one holding it can", () => {
    const net = Net.of(ABC);
    net.campaign("a");
    net.isolate("c");
    net.propose("a", "committed");
    expect(net.node("a").r.raftLog.committed).toBe(2);
    // a fails; c (which missed the entry) campaigns against b.
    net.partition(["a"], ["b", "c"]);
    for (let i = 0; i < 3; i++) net.campaign("c");
    expect(net.node("c").r.role).not.toBe("leader");
    net.campaign("b");
    expect(net.node("b").r.role).toBe("leader");
    net.propose("b", "next");
    expect(
      net
        .node("c")
        .applied.map((e) => dec(e.data))
        .filter((s) => s !== ""),
    ).toEqual(["committed", "next"]);
  });
});

describe("Raft paper §5.4.2: committing entries from previous terms", () => {
  // Raft paper §5.4.2: "Raft never commits log entries from previous terms by counting replicas.
  // Only log entries from the leader's current term are committed by counting replicas".
  const acks: Array<[number, number]> = [
    [1, 0],
    [2, 0],
    [3, 3],
  ];
  for (const [index, want] of acks) {
    it(`a term-3 leader with log [1@1, 2@2, 3@3] acked up to ${index} by every follower commits ${want}`, () => {
      const n = new UnitNode("a", { voters: ABC, terms: [1, 2], term: 2 });
      n.electAlone();
      n.persist();
      expect(n.logTerms()).toEqual([1, 2, 3]);
      n.step({ type: "appendResponse", from: "b", term: 3, index });
      n.step({ type: "appendResponse", from: "c", term: 3, index });
      expect(n.r.raftLog.committed).toBe(want);
    });
  }

  // Raft paper §5.4.2: "once an entry from the current term has been committed in this way,
  // then all prior entries are committed indirectly because of the Log Matching Property."
  it("entries of earlier terms commit together with the new leader's first entry", () => {
    const net = new Net({
      a: { terms: [1, 2, 2], term: 2 },
      b: { terms: [1, 2], term: 2 },
      c: { terms: [1], term: 2 },
    });
    net.campaign("a");
    for (const id of net.ids) {
      expect(net.node(id).r.raftLog.committed).toBe(4);
      expect(net.node(id).applied.map((e) => e.term)).toEqual([1, 2, 2, 3]);
    }
  });

  // Raft paper §5.4.2, Figure 8: an entry of an earlier term stored on a majority may still be
  // overwritten by a future leader, so it must not count as committed.
  describe("Figure 8", () => {
    const ids = ["s1", "s2", "s3", "s4", "s5"];
    /** State (b): S1 led term 2 and got 2@2 to S2; S5 led term 3 and appended 2@3 alone. */
    function figure8(): Net {
      return new Net(
        {
          s1: { terms: [1, 2], term: 3 },
          s2: { terms: [1, 2], term: 3 },
          s3: { terms: [1], term: 3 },
          s4: { terms: [1], term: 3 },
          s5: { terms: [1, 3], term: 3 },
        },
        // One entry per append, so the old entry and the new leader's entry travel separately.
        { commit: 1, maxSizePerMsg: 1 },
      );
    }
    const touches = (m: Message, id: NodeId) => m.from === id || m.to === id;

    it("(c)-(d): S1 does not commit 2@2 though a majority stores it, and S5 later overwrites it", () => {
      const net = figure8();
      // (c) S1 leads term 4 with S2, S3, S4 (S5 is down). Its term-4 entry never arrives: an
      // append carrying it is lost whenever the receiver would have accepted it.
      const wouldStoreTerm4 = (m: Message) =>
        m.type === "append" &&
        m.entries.some((e) => e.term === 4) &&
        net.node(m.to).r.raftLog.matchTerm(m.index, m.logTerm);
      net.drop = (m) => touches(m, "s5") || wouldStoreTerm4(m);
      net.campaign("s1");
      const s1 = net.node("s1").r;
      expect(s1.role).toBe("leader");
      expect(s1.term).toBe(4);
      const holders = ids.filter((id) => net.node(id).r.raftLog.term(2) === 2);
      expect(holders.length).toBeGreaterThanOrEqual(3);
      expect(s1.trk.committed()).toBeGreaterThanOrEqual(2);
      // The rule: 2@2 is on a majority but is not of S1's term, so it is not committed.
      expect(s1.raftLog.committed).toBe(1);

      // (d) S1 crashes; S5 is elected in term 5 and overwrites index 2 everywhere it can.
      net.drop = (m) => touches(m, "s1");
      net.campaign("s5");
      net.campaign("s5");
      expect(net.node("s5").r.role).toBe("leader");
      for (const id of ["s2", "s3", "s4", "s5"]) expect(net.node(id).logTerms()).toEqual([1, 3, 5]);
      // No node ever applied 2@2: nothing committed was lost.
      expect(appliedIds(net).get(2)).toBe(3);
    });

    it("(e): once S1 commits an entry of term 4, 2@2 is committed too and S5 can never win", () => {
      const net = figure8();
      net.drop = (m) => touches(m, "s5");
      net.campaign("s1");
      expect(net.node("s1").r.raftLog.committed).toBe(3);
      net.drop = (m) => touches(m, "s1");
      for (let i = 0; i < 5; i++) net.campaign("s5");
      expect(net.node("s5").r.role).not.toBe("leader");
      // Another server with the committed entries takes over and repairs S5.
      net.campaign("s2");
      expect(net.node("s2").r.role).toBe("leader");
      for (const id of ["s2", "s3", "s4", "s5"])
        expect(net.node(id).logTerms().slice(0, 3)).toEqual([1, 2, 4]);
      expect(appliedIds(net).get(2)).toBe(2);
    });
  });

  // Raft thesis §6.4 / Raft paper §8: "each leader commit a blank no-op entry into the log at the start of its term".
  it("a new leader appends an empty entry of its new term and replicates it", () => {
    const n = new UnitNode("a", { voters: ABC, terms: [1, 1, 2], term: 2 });
    n.rn.campaign();
    n.step({ type: "voteResponse", from: "b", term: 3 });
    expect(n.r.role).toBe("leader");
    const last = n.r.raftLog.slice(4, 5)[0]!;
    expect([last.index, last.term, last.type, last.data.length]).toEqual([4, 3, "normal", 0]);
    const apps = ofType(n.take(), "append");
    expect(
      apps.map((m) => [m.to, m.index, m.logTerm, m.entries.map((e) => `${e.index}@${e.term}`).join()]),
    ).toEqual([
      ["b", 3, 2, "4@3"],
      ["c", 3, 2, "4@3"],
    ]);
  });

  // Raft thesis §10.2.1: the leader may write its log in parallel with replicating it, but it
  // counts itself toward a majority only once its own entry is durable.
  it("the leader's own copy counts toward commit only after it is persisted", () => {
    const n = new UnitNode("a", { voters: ABC });
    n.electAlone();
    n.persist();
    n.step({ type: "appendResponse", from: "b", term: 1, index: 1 });
    n.step({ type: "appendResponse", from: "c", term: 1, index: 1 });
    n.persist();
    n.take();
    expect(n.r.raftLog.committed).toBe(1);

    n.rn.propose(enc("x"));
    const rd = n.rn.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    // b stores and acks the entry before the leader's write finished: 1 durable copy of 3.
    n.step({ type: "appendResponse", from: "b", term: 1, index: 2 });
    expect(n.r.raftLog.committed).toBe(1);
    n.write(rd);
    n.rn.advance(rd);
    expect(n.r.raftLog.committed).toBe(2);
  });

  it("a single-voter leader commits a proposal only once it is persisted", () => {
    const n = new UnitNode("a", { voters: ["a"] });
    n.rn.campaign();
    expect(n.r.role).toBe("leader");
    expect(n.r.raftLog.committed).toBe(0);
    n.persist();
    expect(n.r.raftLog.committed).toBe(1);
    n.rn.propose(enc("x"));
    expect(n.r.raftLog.committed).toBe(1);
    const rd = n.rn.ready();
    expect(rd.committedEntries).toEqual([]);
    n.write(rd);
    n.rn.advance(rd);
    expect(n.r.raftLog.committed).toBe(2);
    n.persist();
    expect(n.applied.map((e) => dec(e.data))).toEqual(["", "x"]);
  });
});
