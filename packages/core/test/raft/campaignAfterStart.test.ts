import { describe, expect, it } from "vitest";
import { CAMPAIGN_SOON, leaderAlone, ofType, UnitNode } from "../helpers/unit.js";

/** Ticks `n` until it sends its first pre-vote request; returns how many ticks that took. */
function ticksToFirstCampaign(n: UnitNode): number {
  for (let t = 1; t <= 100; t++) {
    n.tick();
    if (ofType(n.take(), "preVote").length > 0) return t;
  }
  throw new Error("no campaign within 100 ticks");
}

describe("campaignSoonAfterStart: a restarted node listens for two ticks, then campaigns soon", () => {
  it("campaigns after 2 to electionTick/2 ticks, never sooner", () => {
    const ticks = new Set<number>();
    for (let seed = 1; seed <= 60; seed++)
      ticks.add(ticksToFirstCampaign(new UnitNode("a", { ...CAMPAIGN_SOON, seed })));
    expect([...ticks].sort()).toEqual([2, 3, 4, 5]);
  });

  it("ignores (pre-)vote requests for its first two ticks, then grants them", () => {
    const n = new UnitNode("a", { ...CAMPAIGN_SOON, voters: ["a", "b", "c", "d", "e"] });
    const ask = (): void => n.step({ type: "preVote", from: "b", term: 2, index: 1, logTerm: 1 });
    ask();
    n.tick();
    ask();
    expect(ofType(n.take(), "preVoteResponse")).toEqual([]);
    n.tick();
    ask();
    expect(ofType(n.take(), "preVoteResponse").map((m) => m.reject)).toEqual([false]);
  });

  it("within those ticks, votes once the voters that asked make a quorum with it: none of them has a leader", () => {
    const five = new UnitNode("a", { ...CAMPAIGN_SOON, voters: ["a", "b", "c", "d", "e"] });
    const ask = (n: UnitNode, from: string): void =>
      n.step({ type: "preVote", from, term: 2, index: 1, logTerm: 1 });
    ask(five, "b");
    expect(ofType(five.take(), "preVoteResponse")).toEqual([]);
    ask(five, "c");
    expect(ofType(five.take(), "preVoteResponse").map((m) => [m.to, m.reject])).toEqual([["c", false]]);
    // Of three voters, one that asks makes a quorum with this node: a survivor whose leader is
    // gone is answered at once by the member that just restarted.
    const three = new UnitNode("a", CAMPAIGN_SOON);
    ask(three, "b");
    expect(ofType(three.take(), "preVoteResponse").map((m) => m.reject)).toEqual([false]);
    expect(three.r.ticksSinceStart).toBe(0);
  });

  it("within those ticks, a learner that asks counts for nothing", () => {
    const n = new UnitNode("a", { ...CAMPAIGN_SOON, voters: ["a", "b", "c"], learners: ["l"] });
    n.step({ type: "preVote", from: "l", term: 2, index: 1, logTerm: 1 });
    n.step({ type: "preVote", from: "l", term: 2, index: 1, logTerm: 1 });
    expect(n.r.votersWithoutLeader.size).toBe(0);
  });

  it("follows a live leader heard within those ticks, and then refuses a restarted peer's early campaign", () => {
    const n = new UnitNode("a", CAMPAIGN_SOON);
    n.tick();
    n.step({ type: "heartbeat", from: "c", term: 1 });
    expect(n.r.lead).toBe("c");
    n.tick(2);
    n.step({ type: "preVote", from: "b", term: 2, index: 1, logTerm: 1 });
    expect(ofType(n.take(), "preVoteResponse")).toEqual([]);
    n.tick(5);
    expect(n.r.role).toBe("follower");
  });
});

describe("campaignSoonAfterStart: until a leader is seen, failed elections are retried soon", () => {
  it("a candidate that did not win campaigns again within electionTick/2 ticks", () => {
    const n = new UnitNode("a", CAMPAIGN_SOON);
    ticksToFirstCampaign(n);
    n.step({ type: "preVoteResponse", from: "b", term: 2 });
    expect(n.r.role).toBe("candidate");
    n.take();
    // b voted for itself (a split): no answer comes; a tries again soon.
    expect(ticksToFirstCampaign(n)).toBeLessThanOrEqual(5);
  });

  it("once it has heard from a leader, the usual election timeout applies again", () => {
    const n = new UnitNode("a", CAMPAIGN_SOON);
    n.tick(2);
    n.step({ type: "heartbeat", from: "c", term: 1 });
    expect(ticksToFirstCampaign(n)).toBeGreaterThanOrEqual(10);
  });
});

describe("a leader that steps down for lack of a quorum", () => {
  it("with campaignSoonAfterStart, campaigns again within electionTick/2 ticks", () => {
    const n = leaderAlone(CAMPAIGN_SOON);
    expect(n.r.role).toBe("leader");
    // Nobody answers for two election timeouts: check-quorum makes it step down.
    n.tick(20);
    expect(n.r.role).not.toBe("leader");
    n.take();
    expect(ticksToFirstCampaign(n)).toBeLessThanOrEqual(5);
  });

  it("gets the (pre-)votes of followers that still count it as their leader", () => {
    const f = new UnitNode("b", { ...CAMPAIGN_SOON, seed: 3 });
    f.tick(2);
    f.step({ type: "heartbeat", from: "a", term: 1 });
    expect(f.r.lead).toBe("a");
    // Well inside the lease with a, a asks: it stepped down, so there is nothing to protect.
    f.step({ type: "preVote", from: "a", term: 2, index: 1, logTerm: 1 });
    expect(ofType(f.take(), "preVoteResponse").map((m) => m.reject)).toEqual([false]);
    // Another node still gets no answer inside the lease.
    f.step({ type: "preVote", from: "c", term: 2, index: 1, logTerm: 1 });
    expect(ofType(f.take(), "preVoteResponse")).toEqual([]);
  });
});
