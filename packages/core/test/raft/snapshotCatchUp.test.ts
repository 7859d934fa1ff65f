import { describe, expect, it } from "vitest";
import { TestCluster } from "../helpers/cluster.js";

// Raft paper §7: a follower that needs compacted entries gets the leader's snapshot.
describe("log compaction and snapshots", () => {
  it("a follower 10,000 entries behind a compacted leader catches up through a snapshot", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.campaign("a");
    c.isolate("c");
    for (let i = 0; i < 10_000; i++) c.get("a").node.propose(new TextEncoder().encode(`v${i}`));
    c.settle();
    expect(c.get("a").node.status().commit).toBeGreaterThan(10_000);
    c.snapshotAndCompact("a", 100);
    c.snapshotAndCompact("b", 100);
    expect(c.get("a").storage.firstIndex()).toBeGreaterThan(9_000);

    c.heal();
    const sent: string[] = [];
    const drop = c.drop;
    c.drop = (m) => {
      if (m.to === "c") sent.push(m.type);
      return drop(m);
    };
    c.tick(3);
    expect(sent).toContain("snapshot");
    c.get("a").node.reportSnapshot("c", true);
    c.tick(3);

    const leaderData = c.appliedData("a");
    expect(leaderData).toHaveLength(10_000);
    expect(c.appliedData("c")).toEqual(leaderData);
    expect(c.get("c").storage.snapshot().meta.index).toBe(c.get("a").storage.snapshot().meta.index);
    const pr = c.get("a").node.status().progress.c!;
    expect(pr.state).toBe("replicate");
    expect(pr.match).toBe(c.get("a").node.status().commit);
    // Later writes flow normally again.
    c.propose("a", "after");
    expect(c.appliedData("c").at(-1)).toBe("after");
  });

  it("a follower that holds the snapshot's last entry fast-forwards its commit instead of restoring", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.campaign("a");
    for (let i = 0; i < 5; i++) c.propose("a", `v${i}`);
    const r = c.raft("b");
    const snapIndex = r.raftLog.committed;
    const restored = r.restore({
      meta: { index: snapIndex, term: r.raftLog.term(snapIndex)!, confState: c.get("b").confState },
      data: new Uint8Array(),
    });
    expect(restored).toBe(false);
  });

  it("a restarted node resumes from its snapshot and the entries after it", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.campaign("a");
    for (let i = 0; i < 20; i++) c.propose("a", `v${i}`);
    c.snapshotAndCompact("b", 0);
    c.propose("a", "tail");
    c.restart("b");
    c.tick(12);
    expect(c.appliedData("b")).toEqual(c.appliedData("a"));
  });
});
