import { describe, expect, it } from "vitest";
import type { ProgressState } from "../../src/index.js";
import { Progress } from "../../src/tracker/progress.js";
import { ProgressTracker } from "../../src/tracker/progressTracker.js";

function progress(state: ProgressState, match: number, next: number, maxInflight = 256): Progress {
  const pr = new Progress(next, false, maxInflight, 0);
  if (state === "replicate") pr.becomeReplicate();
  if (state === "snapshot") pr.becomeSnapshot(10);
  pr.match = match;
  pr.next = next;
  return pr;
}

describe("Progress", () => {
  it("maybeUpdate raises match (and next if needed) and ignores stale acknowledgements", () => {
    const pr = progress("probe", 3, 5);
    pr.msgAppFlowPaused = true;
    expect(pr.maybeUpdate(2)).toBe(false);
    expect(pr.maybeUpdate(3)).toBe(false);
    expect([pr.match, pr.next, pr.msgAppFlowPaused]).toEqual([3, 5, true]);
    expect(pr.maybeUpdate(4)).toBe(true);
    expect([pr.match, pr.next, pr.msgAppFlowPaused]).toEqual([4, 5, false]);
    expect(pr.maybeUpdate(7)).toBe(true);
    expect([pr.match, pr.next]).toEqual([7, 8]);
  });

  const decr: Array<[string, ProgressState, number, number, number, number, boolean, number]> = [
    // what, state, match, next, rejected, hint, changed, next after
    ["replicate: rejection at match is stale", "replicate", 5, 10, 5, 5, false, 10],
    ["replicate: rejection below match is stale", "replicate", 5, 10, 4, 4, false, 10],
    ["replicate: back to match+1", "replicate", 5, 10, 9, 9, true, 6],
    ["probe: rejection of an older probe is stale", "probe", 0, 10, 5, 5, false, 10],
    ["probe: next-1 never matches 0 at next 0", "probe", 0, 0, 0, 0, false, 0],
    ["probe: one step back", "probe", 0, 10, 9, 9, true, 9],
    ["probe: one step back to 1", "probe", 0, 2, 1, 1, true, 1],
    ["probe: never below 1", "probe", 0, 1, 0, 0, true, 1],
    ["probe: jumps to hint+1", "probe", 0, 10, 9, 2, true, 3],
    ["probe: hint 0 goes to 1", "probe", 0, 10, 9, 0, true, 1],
    ["probe: never below match+1", "probe", 5, 10, 9, 2, true, 6],
  ];
  for (const [what, state, match, next, rejected, hint, changed, after] of decr) {
    it(`maybeDecrTo, ${what}`, () => {
      const pr = progress(state, match, next);
      pr.msgAppFlowPaused = true;
      expect(pr.maybeDecrTo(rejected, hint)).toBe(changed);
      expect(pr.next).toBe(after);
      if (changed && state === "probe") expect(pr.msgAppFlowPaused).toBe(false);
    });
  }

  it("becomeProbe from replicate restarts right after match", () => {
    const pr = progress("replicate", 5, 9);
    pr.inflights.add(8, 1);
    pr.becomeProbe();
    expect([pr.state, pr.next, pr.inflights.count]).toEqual(["probe", 6, 0]);
  });

  it("becomeProbe from snapshot restarts after the snapshot (or match, if further)", () => {
    const pr = progress("probe", 1, 2);
    pr.becomeSnapshot(10);
    pr.becomeProbe();
    expect([pr.state, pr.next, pr.pendingSnapshot]).toEqual(["probe", 11, 0]);
    const ahead = progress("probe", 1, 2);
    ahead.becomeSnapshot(10);
    ahead.match = 15;
    ahead.becomeProbe();
    expect(ahead.next).toBe(16);
  });

  it("becomeReplicate sends from match+1 with an empty window", () => {
    const pr = progress("probe", 5, 7);
    pr.msgAppFlowPaused = true;
    pr.becomeReplicate();
    expect([pr.state, pr.next, pr.msgAppFlowPaused, pr.inflights.count]).toEqual(["replicate", 6, false, 0]);
  });

  it("a probe pauses after an append with entries; a replicate pauses only on a full window; a snapshot always", () => {
    const probe = progress("probe", 1, 2);
    expect(probe.isPaused()).toBe(false);
    // An empty append (it only carries the commit index) needs no answer (etcd).
    probe.sentEntries(0, 1, 0);
    expect([probe.isPaused(), probe.next]).toEqual([false, 2]);
    probe.sentEntries(1, 2, 24);
    expect([probe.isPaused(), probe.next]).toEqual([true, 2]);

    const repl = progress("replicate", 1, 2, 2);
    repl.sentEntries(2, 3, 48);
    expect([repl.next, repl.isPaused()]).toEqual([4, false]);
    repl.sentEntries(0, 3, 0);
    expect([repl.next, repl.inflights.count]).toEqual([4, 1]);
    repl.sentEntries(1, 4, 24);
    expect([repl.next, repl.isPaused()]).toEqual([5, true]);

    const snap = progress("snapshot", 1, 2);
    expect(snap.isPaused()).toBe(true);
  });
});

describe("ProgressTracker", () => {
  function tracker(voters: string[], outgoing: string[] = [], learners: string[] = []): ProgressTracker {
    const t = new ProgressTracker(256, 0);
    t.config.voters = [new Set(voters), new Set(outgoing)];
    t.config.learners = new Set(learners);
    for (const id of new Set([...voters, ...outgoing, ...learners])) {
      t.progress.set(id, t.newProgress(1, learners.includes(id)));
    }
    return t;
  }

  it("the committed index is what a majority of voters acknowledged; learners do not count", () => {
    const t = tracker(["a", "b", "c"], [], ["d"]);
    const matches: Record<string, number> = { a: 5, b: 3, c: 1, d: 9 };
    for (const [id, m] of Object.entries(matches)) t.progress.get(id)!.match = m;
    expect(t.committed()).toBe(3);
  });

  it("in a joint config both halves must acknowledge", () => {
    const t = tracker(["a", "b", "c"], ["c", "d", "e"]);
    const matches: Record<string, number> = { a: 9, b: 9, c: 4, d: 2, e: 1 };
    for (const [id, m] of Object.entries(matches)) t.progress.get(id)!.match = m;
    expect(t.committed()).toBe(2);
  });

  it("only the first vote of each voter counts", () => {
    const t = tracker(["a", "b", "c"]);
    t.recordVote("a", true);
    t.recordVote("b", false);
    t.recordVote("b", true);
    expect(t.tallyVotes()).toEqual({ granted: 1, rejected: 1, result: "pending" });
    t.recordVote("c", true);
    expect(t.tallyVotes().result).toBe("won");
  });

  it("quorumActive counts recently active voters, not learners", () => {
    const t = tracker(["a", "b", "c"], [], ["d", "e"]);
    for (const id of ["a", "d", "e"]) t.progress.get(id)!.recentActive = true;
    expect(t.quorumActive()).toBe(false);
    t.progress.get("c")!.recentActive = true;
    expect(t.quorumActive()).toBe(true);
  });
});
