import { describe, expect, it } from "vitest";
import { enc, ofType, steadyLeader } from "../helpers/unit.js";

/** A deferring leader whose entry 2 both followers acknowledged: committed, and no follower told yet. */
function committedQuietly(): ReturnType<typeof steadyLeader> {
  const n = steadyLeader(["a", "b", "c"], { deferCommitBroadcast: true });
  n.rn.propose(enc("x"));
  n.persist();
  n.step({ type: "appendResponse", from: "b", term: 1, index: 2 });
  n.step({ type: "appendResponse", from: "c", term: 1, index: 2 });
  n.take();
  return n;
}

describe("deferCommitBroadcast: a new commit rides on the next append", () => {
  it("by default a leader sends every follower an empty append when its commit advances (etcd)", () => {
    const n = steadyLeader();
    n.rn.propose(enc("x"));
    n.persist();
    n.step({ type: "appendResponse", from: "b", term: 1, index: 2 });
    expect(n.r.raftLog.committed).toBe(2);
    const appends = ofType(n.take(), "append");
    expect(appends.map((m) => [m.to, m.entries.length, m.commit])).toEqual([
      ["b", 0, 2],
      ["c", 0, 2],
    ]);
  });

  it("with it, the leader sends nothing at commit; the next append carries the commit to each follower", () => {
    const n = steadyLeader(["a", "b", "c"], { deferCommitBroadcast: true });
    n.rn.propose(enc("x"));
    n.persist();
    n.step({ type: "appendResponse", from: "b", term: 1, index: 2 });
    expect(n.r.raftLog.committed).toBe(2);
    expect(ofType(n.take(), "append")).toEqual([]);
    expect(n.rn.hasUntoldCommit()).toBe(true);
    n.rn.propose(enc("y"));
    const next = ofType(n.persist(), "append");
    expect(next.map((m) => [m.to, m.entries.map((e) => e.index), m.commit])).toEqual([
      ["b", [3], 2],
      ["c", [3], 2],
    ]);
    expect(n.rn.hasUntoldCommit()).toBe(false);
  });

  it("broadcastCommit sends it to the followers that were not told, as empty appends", () => {
    const n = committedQuietly();
    n.rn.broadcastCommit();
    expect(ofType(n.take(), "append").map((m) => [m.to, m.entries.length, m.commit])).toEqual([
      ["b", 0, 2],
      ["c", 0, 2],
    ]);
    expect(n.rn.hasUntoldCommit()).toBe(false);
    n.rn.broadcastCommit();
    expect(n.take()).toEqual([]);
  });

  it("a heartbeat tells a follower the commit it holds the entries for", () => {
    const n = committedQuietly();
    n.tick();
    expect(ofType(n.take(), "heartbeat").map((m) => [m.to, m.commit])).toEqual([
      ["b", 2],
      ["c", 2],
    ]);
    expect(n.rn.hasUntoldCommit()).toBe(false);
  });
});
