import { describe, expect, it } from "vitest";
import type { NodeId } from "../../src/index.js";
import { Net } from "../helpers/net.js";
import { enc, ofType, steadyLeader, UnitNode } from "../helpers/unit.js";

const ABC: NodeId[] = ["a", "b", "c"];

/** Payload that makes an entry count 100 bytes (24 bytes of fixed overhead). */
const BIG = "x".repeat(76);

function proposeN(n: UnitNode, count: number, data = "x"): void {
  for (let i = 0; i < count; i++) n.rn.propose(enc(data));
}

/** The entry indexes carried by each append to `to`, e.g. [[2], [3, 4]]. */
function appendsTo(n: UnitNode, to: NodeId): number[][] {
  return ofType(n.take(), "append", to).map((m) => m.entries.map((e) => e.index));
}

describe("flow control: probe and replicate states (etcd Progress)", () => {
  it("in probe state the leader sends one append and then waits for the answer", () => {
    const n = new UnitNode("a", { voters: ABC });
    n.electAlone();
    n.persist();
    const pr = n.r.trk.progress.get("b")!;
    expect(pr.state).toBe("probe");
    expect(pr.isPaused()).toBe(true);
    proposeN(n, 3);
    expect(appendsTo(n, "b")).toEqual([]);
    // The answer to the probe switches b to replicate and the backlog goes out.
    n.step({ type: "appendResponse", from: "b", term: 1, index: 1 });
    expect(pr.state).toBe("replicate");
    expect(appendsTo(n, "b")).toEqual([[2, 3, 4]]);
  });

  it("in probe state a heartbeat answer releases the next probe (the last one may have been lost)", () => {
    const n = new UnitNode("a", { voters: ABC });
    n.electAlone();
    n.persist();
    n.step({ type: "heartbeatResponse", from: "b", term: 1 });
    expect(appendsTo(n, "b")).toEqual([[1]]);
    expect(n.r.trk.progress.get("b")!.isPaused()).toBe(true);
  });

  it("in replicate state the leader pipelines up to maxInflightMsgs appends, then pauses", () => {
    const n = steadyLeader(ABC, { maxInflightMsgs: 3 });
    proposeN(n, 5);
    expect(appendsTo(n, "b")).toEqual([[2], [3], [4]]);
    expect(n.r.trk.progress.get("b")!.isPaused()).toBe(true);
    // Acknowledging the first two frees two slots: the rest goes out in one append.
    n.step({ type: "appendResponse", from: "b", term: 1, index: 3 });
    expect(appendsTo(n, "b")).toEqual([[5, 6]]);
  });

  it("maxInflightBytes bounds the bytes in flight as well", () => {
    const n = steadyLeader(ABC, { maxSizePerMsg: 100, maxInflightBytes: 200 });
    proposeN(n, 5, BIG);
    expect(appendsTo(n, "b")).toEqual([[2], [3]]);
    expect(n.r.trk.progress.get("b")!.inflights.bytes).toBe(200);
    n.step({ type: "appendResponse", from: "b", term: 1, index: 2 });
    expect(appendsTo(n, "b")).toEqual([[4]]);
  });

  const ones = [[1], [2], [3], [4], [5], [6], [7]];
  const splits: Array<[number, number[][]]> = [
    // maxSizePerMsg (every entry here counts 24 bytes), the appends that carry the log to b
    [50, [[1, 2], [3, 4], [5, 6], [7]]],
    [48, [[1, 2], [3, 4], [5, 6], [7]]],
    [47, ones],
    [1, ones],
    [1024, [[1, 2, 3, 4, 5, 6, 7]]],
  ];
  for (const [max, want] of splits) {
    it(`maxSizePerMsg ${max} splits a backlog of 7 entries into ${want.length} append(s), each with at least one entry`, () => {
      const n = new UnitNode("a", { voters: ABC, terms: [1, 1, 1, 1, 1, 1], term: 1, maxSizePerMsg: max });
      n.electAlone();
      n.persist();
      // b has nothing: its rejection makes the leader probe from the start, with one append.
      n.step({ type: "appendResponse", from: "b", term: 2, index: 6, reject: true, rejectHint: 0 });
      const probe = appendsTo(n, "b");
      expect(probe).toEqual(want.slice(0, 1));
      // Once the probe is acknowledged the rest is pipelined (leaving out empty appends that
      // only announce a new commit index).
      n.step({ type: "appendResponse", from: "b", term: 2, index: want[0]!.at(-1)! });
      expect(appendsTo(n, "b").filter((es) => es.length > 0)).toEqual(want.slice(1));
    });
  }

  it("reportUnreachable moves a follower from replicate to probe", () => {
    const n = steadyLeader();
    const pr = n.r.trk.progress.get("b")!;
    proposeN(n, 2);
    expect(pr.state).toBe("replicate");
    n.rn.reportUnreachable("b");
    expect(pr.state).toBe("probe");
    expect(pr.next).toBe(pr.match + 1);
    // Probing resumes from the last acknowledged entry.
    n.take();
    n.step({ type: "heartbeatResponse", from: "b", term: 1 });
    expect(appendsTo(n, "b")).toEqual([[2, 3]]);
  });

  it("a rejection in replicate state falls back to probing from the last match", () => {
    const n = steadyLeader();
    proposeN(n, 3);
    n.take();
    const pr = n.r.trk.progress.get("b")!;
    expect(pr.next).toBe(5);
    n.step({ type: "appendResponse", from: "b", term: 1, index: 2, reject: true, rejectHint: 1, logTerm: 1 });
    expect(pr.state).toBe("probe");
    expect(appendsTo(n, "b")).toEqual([[2, 3, 4]]);
  });

  it("when the window is full, a heartbeat answer frees a slot and the leader sends again", () => {
    const n = steadyLeader(ABC, { maxInflightMsgs: 2 });
    proposeN(n, 3);
    expect(appendsTo(n, "b")).toEqual([[2], [3]]);
    expect(n.r.trk.progress.get("b")!.inflights.full()).toBe(true);
    n.step({ type: "heartbeatResponse", from: "b", term: 1 });
    expect(appendsTo(n, "b")).toEqual([[4]]);
  });

  it("replication recovers after every append of a full window was lost", () => {
    const net = Net.of(ABC, { maxInflightMsgs: 2 });
    net.campaign("a");
    net.drop = (m) => m.type === "append" && m.to === "b";
    for (let i = 0; i < 5; i++) net.propose("a", `p${i}`);
    expect(net.node("a").r.trk.progress.get("b")!.inflights.full()).toBe(true);
    expect(net.node("b").r.raftLog.lastIndex()).toBe(1);
    net.heal();
    net.tick(2, ["a"]);
    expect(net.node("b").logTerms()).toEqual(net.node("a").logTerms());
    expect(net.node("b").r.raftLog.committed).toBe(6);
  });
});

describe("snapshots for followers behind the leader's compacted log (Raft paper §7)", () => {
  it("a follower that needs compacted entries is sent a snapshot, then replicated normally", () => {
    const net = Net.of(ABC);
    net.campaign("a");
    net.isolate("c");
    for (let i = 0; i < 4; i++) net.propose("a", `p${i}`);
    const a = net.node("a");
    expect(a.r.raftLog.applied).toBe(5);
    a.storage.createSnapshot(5, a.rn.status().config, enc("state@5"));
    a.storage.compact(5);
    net.heal();
    net.trace = [];
    net.tick(2, ["a"]);
    expect(net.delivered("snapshot", "c").map((m) => m.snapshot!.meta.index)).toEqual([5]);
    const c = net.node("c");
    expect(c.storage.snapshot().meta.index).toBe(5);
    expect(c.r.raftLog.committed).toBe(5);
    // The leader moves c back to replicating once it acknowledges the snapshot.
    expect(a.r.trk.progress.get("c")!.state).toBe("replicate");
    net.propose("a", "after");
    expect(c.logTerms().slice(5)).toEqual([1]);
    expect(c.r.raftLog.committed).toBe(6);
  });

  it("after a snapshot is reported sent, the leader probes right after it, waiting for a heartbeat answer", () => {
    const n = steadyLeader();
    const pr = n.r.trk.progress.get("b")!;
    pr.becomeSnapshot(10);
    n.rn.reportSnapshot("b", true);
    expect([pr.state, pr.next, pr.isPaused()]).toEqual(["probe", 11, true]);
  });

  it("after a snapshot is reported failed, the leader probes again from the last match", () => {
    const n = steadyLeader();
    const pr = n.r.trk.progress.get("b")!;
    pr.becomeSnapshot(10);
    n.rn.reportSnapshot("b", false);
    expect([pr.state, pr.next, pr.pendingSnapshot, pr.isPaused()]).toEqual(["probe", 2, 0, true]);
  });

  it("a snapshot status for a follower that is not receiving a snapshot changes nothing", () => {
    const n = steadyLeader();
    const pr = n.r.trk.progress.get("b")!;
    n.rn.reportSnapshot("b", false);
    expect([pr.state, pr.next, pr.isPaused()]).toEqual(["replicate", 2, false]);
  });
});

describe("proposeTogether", () => {
  it("sends what several proposals appended to each follower in one append", () => {
    const n = steadyLeader(ABC);
    n.rn.proposeTogether(() => {
      proposeN(n, 3);
      expect(n.r.msgs).toEqual([]);
    });
    expect(ofType(n.take(), "append").map((m) => [m.to, m.entries.map((e) => e.index)])).toEqual([
      ["b", [2, 3, 4]],
      ["c", [2, 3, 4]],
    ]);
  });

  it("accepts or refuses each proposal as if alone (the uncommitted size limit)", () => {
    const n = steadyLeader(ABC, { maxUncommittedEntriesSize: 200 });
    const outcomes: string[] = [];
    n.rn.proposeTogether(() => {
      for (let i = 0; i < 3; i++) {
        try {
          n.rn.propose(enc(BIG));
          outcomes.push("ok");
        } catch (e) {
          outcomes.push((e as Error).name);
        }
      }
    });
    expect(outcomes).toEqual(["ok", "ok", "ProposalDroppedError"]);
    expect(ofType(n.take(), "append", "b").map((m) => m.entries.length)).toEqual([2]);
  });

  it("sends nothing when every proposal was refused", () => {
    const n = steadyLeader(ABC);
    n.r.leadTransferee = "b";
    n.rn.proposeTogether(() => {
      expect(() => n.rn.propose(enc("x"))).toThrow(/leadership transfer/);
    });
    expect(ofType(n.take(), "append")).toEqual([]);
  });
});
