import { describe, expect, it } from "vitest";
import { type ConfChange, ProposalDroppedError } from "../../src/index.js";
import { TestCluster } from "../helpers/cluster.js";

type ChangeType = "addVoter" | "addLearner" | "removeNode";
const add = (type: ChangeType, nodeId: string): ConfChange => ({
  transition: "auto",
  changes: [{ type, nodeId }],
});
/** Several changes in one joint step: `[type, nodeId]` each. */
const joint = (transition: "auto" | "explicit", ...changes: [ChangeType, string][]): ConfChange => ({
  transition,
  changes: changes.map(([type, nodeId]) => ({ type, nodeId })),
});

function started(ids = ["a", "b", "c"]): TestCluster {
  const c = new TestCluster(ids);
  c.campaign("a");
  return c;
}

/** Each node's role, term, last index, commit and voters, for a failure message. */
function describeNodes(c: TestCluster, ids: string[]): string {
  return ids
    .map((id) => {
      const r = c.raft(id);
      const cs = c.get(id).confState;
      return `${id} ${r.role} term ${r.term} last ${r.raftLog.lastIndex()} commit ${r.raftLog.committed} voters [${cs.voters}] & [${cs.votersOutgoing}]`;
    })
    .join("; ");
}

// Raft thesis §4.1 (one server at a time), §4.2.2 (learners), §4.3 (joint consensus).
describe("membership changes", () => {
  it("adds a learner that receives the log but never votes or counts toward commit", () => {
    const c = started();
    c.addEmptyNode("d");
    c.get("a").node.proposeConfChange(add("addLearner", "d"));
    c.settle();
    c.tick(2);
    c.propose("a", "x");
    expect(c.appliedData("d")).toEqual(["x"]);
    expect(c.get("a").confState.learners).toEqual(["d"]);
    expect(c.get("d").confState.learners).toEqual(["d"]);
    // With b and c cut off, a + learner d are not a quorum.
    c.drop = (m) => ["b", "c"].includes(m.to) || ["b", "c"].includes(m.from);
    const commit = c.get("a").node.status().commit;
    c.propose("a", "y");
    expect(c.get("a").node.status().commit).toBe(commit);
    // A learner never campaigns.
    c.tick(50, ["d"]);
    expect(c.raft("d").role).toBe("follower");
  });

  it("promotes a caught-up learner to voter", () => {
    const c = started();
    c.addEmptyNode("d");
    c.get("a").node.proposeConfChange(add("addLearner", "d"));
    c.settle();
    c.tick(2);
    c.get("a").node.proposeConfChange(add("addVoter", "d"));
    c.settle();
    expect(c.get("a").confState.voters).toEqual(["a", "b", "c", "d"]);
    expect(c.get("d").confState.voters).toEqual(["a", "b", "c", "d"]);
    // Now with 4 voters, a + d are not enough; a + c + d are.
    c.drop = (m) => m.to === "b" || m.from === "b";
    c.propose("a", "z");
    expect(c.appliedData("d")).toEqual(["z"]);
  });

  it("refuses a second configuration change while one is pending", () => {
    const c = started();
    c.get("a").node.proposeConfChange(add("addLearner", "d"));
    expect(() => c.get("a").node.proposeConfChange(add("addLearner", "e"))).toThrow(ProposalDroppedError);
    c.settle();
    // Applied: the next one is accepted.
    expect(() => c.get("a").node.proposeConfChange(add("addLearner", "e"))).not.toThrow();
  });

  it("removing the leader: it serves until the change commits, then steps down and another leads", () => {
    const c = started();
    c.get("a").node.proposeConfChange(add("removeNode", "a"));
    c.settle();
    expect(c.get("b").confState.voters).toEqual(["b", "c"]);
    expect(c.raft("a").role).toBe("follower");
    c.tick(30, ["b", "c"]);
    const leader = c.leader();
    expect(["b", "c"]).toContain(leader);
    c.propose(leader!, "after");
    expect(c.appliedData("b")).toEqual(["after"]);
    expect(c.appliedData("c")).toEqual(["after"]);
    // The removed node never campaigns again.
    c.tick(50, ["a"]);
    expect(c.raft("a").role).toBe("follower");
  });

  it("joint consensus: a decision needs a majority of both the old and the new voters", () => {
    const c = started(["a", "b", "c"]);
    for (const id of ["d", "e"]) c.addEmptyNode(id);
    // Replace b and c by d and e in one step: joint {a,b,c} & {a,d,e}.
    // Hold the leave-joint step back so the joint config can be observed.
    const cc: ConfChange = joint(
      "explicit",
      ["addVoter", "d"],
      ["addVoter", "e"],
      ["removeNode", "b"],
      ["removeNode", "c"],
    );
    c.get("a").node.proposeConfChange(cc);
    c.settle();
    c.tick(3);
    const cs = c.get("a").confState;
    expect(cs.voters).toEqual(["a", "d", "e"]);
    expect(cs.votersOutgoing).toEqual(["a", "b", "c"]);

    // Only the new half (a, d, e) answers: no commit.
    c.drop = (m) => ["b", "c"].includes(m.to) || ["b", "c"].includes(m.from);
    let commit = c.get("a").node.status().commit;
    c.propose("a", "new-half-only");
    expect(c.get("a").node.status().commit).toBe(commit);
    const newHalfOnly = c.raft("a").raftLog.lastIndex();
    // Only the old half answers: the first entry now has both majorities, the second has not.
    c.drop = (m) => ["d", "e"].includes(m.to) || ["d", "e"].includes(m.from);
    c.propose("a", "old-half-only");
    c.tick(2);
    expect(c.get("a").node.status().commit).toBe(newHalfOnly);
    // Both halves: commits the rest.
    c.heal();
    c.tick(2);
    commit = c.get("a").node.status().commit;
    expect(commit).toBe(c.raft("a").raftLog.lastIndex());

    // Leave the joint config explicitly; afterwards b and c no longer matter.
    c.get("a").node.proposeConfChange({ transition: "auto", changes: [] });
    c.settle();
    expect(c.get("a").confState.votersOutgoing).toEqual([]);
    c.drop = (m) => ["b", "c"].includes(m.to) || ["b", "c"].includes(m.from);
    c.propose("a", "after-leave");
    expect(c.appliedData("e").at(-1)).toBe("after-leave");
  });

  it("an auto-leave joint change leaves the joint config by itself", () => {
    const c = started(["a", "b", "c"]);
    c.addEmptyNode("d");
    c.get("a").node.proposeConfChange(joint("auto", ["addVoter", "d"], ["removeNode", "c"]));
    c.settle();
    c.tick(3);
    for (const id of ["a", "b", "d"]) {
      expect(c.get(id).confState).toMatchObject({
        voters: ["a", "b", "d"],
        votersOutgoing: [],
        autoLeave: false,
      });
    }
  });

  it("shrinking 5→3: a leave-joint entry held only by the removed nodes still gets a leader elected after the leader dies", () => {
    const c = new TestCluster(["a", "b", "c", "d", "e"]);
    c.campaign("c");
    c.get("c").node.proposeConfChange(joint("explicit", ["removeNode", "a"], ["removeNode", "b"]));
    c.settle();
    expect(c.get("d").confState).toMatchObject({
      voters: ["c", "d", "e"],
      votersOutgoing: ["a", "b", "c", "d", "e"],
    });
    // The leave-joint entry reaches only a and b (the nodes it removes): with c, a majority of
    // the outgoing voters, but not of the incoming ones, so it is not committed.
    const cutOff = ["d", "e"];
    c.drop = (m) => cutOff.includes(m.to) || cutOff.includes(m.from);
    c.get("c").node.proposeConfChange({ transition: "auto", changes: [] });
    c.settle();
    const leaveJoint = c.raft("c").raftLog.lastIndex();
    expect(c.raft("a").raftLog.lastIndex()).toBe(leaveJoint);
    expect(c.raft("d").raftLog.lastIndex()).toBeLessThan(leaveJoint);
    // The leader dies. d and e cannot win without a or b (the outgoing majority), and a and b
    // vote only for a log as long as theirs; so a or b must campaign, as etcd lets them: the
    // entry that removes them is not committed, and they still vote in the joint configuration.
    c.isolate("c");
    const survivors = ["a", "b", "d", "e"];
    for (let i = 0; i < 100 && !survivors.some((id) => c.raft(id).role === "leader"); i++)
      c.tick(1, survivors);
    expect(survivors.some((id) => c.raft(id).role === "leader")).toBe(true);
    // The leave-joint entry commits; a and b step down once they apply it, and d or e leads.
    c.tick(60, survivors);
    expect(c.get("d").confState).toMatchObject({ voters: ["c", "d", "e"], votersOutgoing: [] });
    const leader = c.leader();
    expect(["d", "e"]).toContain(leader);
    c.propose(leader!, "after");
    expect(c.appliedData("e").at(-1)).toBe("after");
  });

  it("shrinking 5→3: when only the removed nodes learnt that leaving the joint config committed, the others learn it from their refusals and elect a leader", () => {
    for (const options of [
      { preVote: true, checkQuorum: true },
      { preVote: false, checkQuorum: false },
    ]) {
      const c = new TestCluster(["a", "b", "c", "d", "e"], options);
      c.campaign("c");
      c.get("c").node.proposeConfChange(joint("explicit", ["removeNode", "d"], ["removeNode", "e"]));
      c.settle();
      // The leave-joint entry reaches everyone, and a and b answer it...
      c.get("c").node.proposeConfChange({ transition: "auto", changes: [] });
      const leaveJoint = c.raft("c").raftLog.lastIndex();
      c.processReady("c");
      c.deliverInFlight();
      for (const id of ["a", "b", "d", "e"]) c.processReady(id);
      // ...but before their answers arrive the leader takes a write, and its links to a and b
      // break: only d and e could get the write, and only they learn that the leave committed.
      c.get("c").node.propose(new TextEncoder().encode("after the leave"));
      c.drop = (m) => m.from === "c" && ["a", "b"].includes(m.to);
      c.settle();
      for (const id of ["d", "e"]) {
        expect(c.raft(id).raftLog.committed).toBeGreaterThanOrEqual(leaveJoint);
        expect(c.get(id).confState).toMatchObject({ voters: ["a", "b", "c"], votersOutgoing: [] });
      }
      expect(c.raft("a").raftLog.committed).toBeLessThan(leaveJoint);
      expect(c.get("a").confState.votersOutgoing).toEqual(["a", "b", "c", "d", "e"]);
      // The leader dies. a and b are still joint: they need d's or e's vote, which d and e give
      // only to a log as long as theirs; d and e, removed, never campaign. Their refusals say
      // the leave committed: a and b apply it and need only each other.
      c.isolate("c");
      const survivors = ["a", "b", "d", "e"];
      for (let i = 0; i < 200 && !["a", "b"].some((id) => c.raft(id).role === "leader"); i++)
        c.tick(1, survivors);
      const leader = ["a", "b"].find((id) => c.raft(id).role === "leader");
      expect(leader, `no leader: ${describeNodes(c, survivors)}`).toBeDefined();
      c.tick(5, survivors);
      expect(c.get("a").confState).toMatchObject({ voters: ["a", "b", "c"], votersOutgoing: [] });
      c.propose(leader!, "next");
      expect(c.appliedData("b").at(-1)).toBe("next");
    }
  });

  it("a node with committed but unapplied configuration changes does not campaign", () => {
    const c = started();
    const r = c.raft("b");
    r.raftLog.applied = r.raftLog.firstIndex() - 1;
    expect(r.hasUnappliedConfChanges()).toBe(true);
    const term = r.term;
    r.hup("election");
    expect(r.term).toBe(term);
    expect(r.role).toBe("follower");
  });
});
