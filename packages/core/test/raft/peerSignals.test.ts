import { describe, expect, it } from "vitest";
import { CAMPAIGN_SOON, leaderAlone, ofType, UnitNode } from "../helpers/unit.js";

/** A RaftNode with leaseReads: restarted voters refuse votes for an election timeout. */
const LEASE = {
  voters: ["a", "b", "c"],
  terms: [1],
  preVote: true,
  checkQuorum: true,
  ignoreVotesAfterStart: true,
};

/** A follower of `c` that started long ago (past any listening window). */
function followerOfC(spec: typeof CAMPAIGN_SOON | typeof LEASE = CAMPAIGN_SOON, seed = 1): UnitNode {
  const n = new UnitNode("a", { ...spec, seed });
  for (let t = 0; t < 10; t++) {
    n.tick();
    n.step({ type: "heartbeat", from: "c", term: 1 });
  }
  n.take();
  expect(n.r.lead).toBe("c");
  return n;
}

/** Ticks until `n` sends a pre-vote request; how many ticks that took (Infinity past 40). */
function ticksToCampaign(n: UnitNode): number {
  for (let t = 1; t <= 40; t++) {
    n.tick();
    if (ofType(n.take(), "preVote").length > 0) return t;
  }
  return Number.POSITIVE_INFINITY;
}

const preVoteFromB = { type: "preVote", from: "b", term: 2, index: 1, logTerm: 1 } as const;

describe("a leader whose connection is refused (its process is gone)", () => {
  it("is forgotten at once: its follower grants votes and campaigns within 2 to 5 ticks", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const n = followerOfC(CAMPAIGN_SOON, seed);
      n.rn.reportGone("c");
      expect(n.r.lead).toBeNull();
      n.step(preVoteFromB);
      expect(ofType(n.take(), "preVoteResponse").map((m) => m.reject)).toEqual([false]);
      const ticks = ticksToCampaign(n);
      expect(ticks).toBeGreaterThanOrEqual(2);
      expect(ticks).toBeLessThanOrEqual(5);
    }
  });

  it("is not forgotten when it is merely slow or cut off (messages lost, connections time out)", () => {
    const n = followerOfC();
    for (let i = 0; i < 5; i++) n.rn.reportUnreachable("c");
    expect(n.r.lead).toBe("c");
    n.step(preVoteFromB);
    expect(ofType(n.take(), "preVoteResponse")).toEqual([]);
    // It campaigns only once the full election timeout has passed without a heartbeat.
    expect(ticksToCampaign(n)).toBeGreaterThanOrEqual(10);
  });

  it("leaves a follower of another leader alone", () => {
    const n = followerOfC();
    n.rn.reportGone("b");
    expect(n.r.lead).toBe("c");
    n.step(preVoteFromB);
    expect(ofType(n.take(), "preVoteResponse")).toEqual([]);
  });

  it("changes nothing with leader leases: the lease rests on a full election timeout without votes", () => {
    const n = followerOfC(LEASE);
    n.rn.reportGone("c");
    expect(n.r.lead).toBe("c");
    n.step(preVoteFromB);
    expect(ofType(n.take(), "preVoteResponse")).toEqual([]);
  });

  it("is followed again as soon as it is heard from (a late report of an earlier refusal)", () => {
    const n = followerOfC();
    n.rn.reportGone("c");
    n.step({ type: "heartbeat", from: "c", term: 1 });
    expect(n.r.lead).toBe("c");
    expect(ticksToCampaign(n)).toBeGreaterThanOrEqual(10);
  });
});

describe("a peer that becomes reachable", () => {
  it("is heartbeaten at once by the leader", () => {
    const n = leaderAlone(CAMPAIGN_SOON);
    n.take();
    n.rn.reportReachable("b");
    expect(ofType(n.take(), "heartbeat").map((m) => m.to)).toEqual(["b"]);
  });

  it("makes a node that knows of no leader campaign at once, past its listening window", () => {
    const n = followerOfC();
    n.rn.reportGone("c");
    n.rn.reportReachable("b");
    expect(ofType(n.take(), "preVote").map((m) => m.to)).toEqual(["b", "c"]);
  });

  it("makes a pre-candidate ask that voter again (its first request was dropped)", () => {
    const n = followerOfC();
    n.rn.reportGone("c");
    n.rn.reportReachable("b");
    n.take();
    n.rn.reportReachable("b");
    expect(ofType(n.take(), "preVote").map((m) => [m.to, m.term])).toEqual([["b", 2]]);
  });

  it("does not make a follower of a live leader campaign", () => {
    const n = followerOfC();
    n.rn.reportReachable("b");
    expect(ofType(n.take(), "preVote")).toEqual([]);
  });

  it("does not make a node campaign inside its listening window", () => {
    const n = new UnitNode("a", CAMPAIGN_SOON);
    n.rn.reportReachable("b");
    expect(ofType(n.take(), "preVote")).toEqual([]);
  });
});
