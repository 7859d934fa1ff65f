import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type MembershipProgress, MembershipStepError } from "../src/cluster/clusterApi.js";
import { counter } from "./counterMachine.js";
import { LocalCluster, useFakeTime } from "./localCluster.js";

beforeEach(useFakeTime);
afterEach(() => {
  vi.useRealTimers();
});

/** A three-node cluster that may grow by `d`, which joins (no bootstrap) when started. */
async function started() {
  const c = new LocalCluster(
    counter,
    ["a", "b", "c"],
    {},
    {
      raft: (id) => (id === "d" ? { bootstrap: false } : {}),
    },
  );
  await c.startAll();
  await c.until(() => c.leader() !== undefined, 10_000);
  // Enough entries that the new node needs a snapshot (snapshotEntries is 40).
  for (let i = 0; i < 120; i++) await c.settle(c.leader()!.commands.add(1));
  return c;
}

describe("cluster.replace", () => {
  it("replaces the leader: learner, caught up, one joint change, old member gone", async () => {
    const c = await started();
    const leader = c.leader()!;
    const steps: string[] = [];
    await c.start("d");
    const onProgress = (p: MembershipProgress) => {
      if (p.phase === "start") steps.push(p.step);
    };
    await c.settle(leader.cluster.replace(leader.id, "d", "mem://d", { onProgress, maxLagEntries: 5 }));
    expect(steps).toEqual(["readMembership", "addLearner", "catchUp", "unpublish", "swap"]);
    const other = [...c.nodes.values()].find((n) => n.id !== leader.id && n.id !== "d")!;
    // The old leader answers once the joint change is applied; the others then leave it.
    const done = () => {
      const m = other.status().membership;
      return m.votersOutgoing.length === 0 && m.voters.includes("d") && !m.voters.includes(leader.id);
    };
    await c.until(done, 10_000);
    expect(other.status().membership.voters).toHaveLength(3);
    const next = await (async () => {
      await c.until(
        () => [...c.nodes.values()].some((n) => n.id !== leader.id && n.status().role === "leader"),
        10_000,
      );
      return [...c.nodes.values()].find((n) => n.id !== leader.id && n.status().role === "leader")!;
    })();
    expect(await c.settle(next.commands.add(1))).toBe(121);
    await c.until(() => c.node("d").status().applied >= next.status().commit);
    expect(await c.settle(c.node("d").query.value(undefined, { consistency: "stale" }))).toBe(121);
    // A retry on the replaced node, once it applied its removal, has nothing left to do.
    await c.settle(leader.cluster.replace(leader.id, "d", "mem://d"));
    await c.stopAll();
  });

  it("from a follower, following the learner through the leader; a retry after it finished does nothing", async () => {
    const c = await started();
    const follower = [...c.nodes.values()].find((n) => n.status().role !== "leader")!;
    const victim = [...c.nodes.values()].find((n) => n.id !== follower.id && n.status().role !== "leader")!;
    await c.start("d");
    await c.settle(follower.cluster.replace(victim.id, "d", "mem://d"));
    const m = follower.status().membership;
    expect(m.voters).toContain("d");
    expect(m.voters).not.toContain(victim.id);
    expect(m.votersOutgoing).toEqual([]);
    await c.settle(follower.cluster.replace(victim.id, "d", "mem://d"));
    expect(follower.status().membership.voters).toEqual(m.voters);
    await c.stopAll();
  });

  it("a retry right after a restart acts on the cluster's membership, not on the log this node has not re-applied yet", async () => {
    const c = await started();
    const follower = [...c.nodes.values()].find((n) => n.status().role !== "leader")!;
    const victim = [...c.nodes.values()].find((n) => n.id !== follower.id && n.status().role !== "leader")!;
    await c.start("d");
    await c.settle(follower.cluster.replace(victim.id, "d", "mem://d"));
    await c.settle(follower.stop());
    const back = await c.start(follower.id);
    // Restarted from its snapshot, taken before the replacement: d not yet a member in its view.
    expect(back.status().membership.voters).not.toContain("d");
    const steps: string[] = [];
    await c.settle(
      back.cluster.replace(victim.id, "d", "mem://d", {
        onProgress: (p) => p.phase === "start" && steps.push(p.step),
      }),
    );
    // Nothing left to do but the idempotent tail; d was never made a learner again.
    expect(steps).toEqual(["readMembership", "leaveJoint", "unpublish"]);
    const m = back.status().membership;
    expect(m.voters).toContain("d");
    expect(m.learners).not.toContain("d");
    await c.stopAll();
  });

  it("a retry on the replaced node, restarted still believing it is a member, asks the leader and finds it done", async () => {
    const c = await started();
    const leader = c.leader()!;
    const victim = [...c.nodes.values()].find((n) => n.status().role !== "leader")!;
    await c.settle(victim.stop());
    await c.start("d");
    await c.settle(leader.cluster.replace(victim.id, "d", "mem://d"));
    const back = await c.start(victim.id);
    // Its log ends before its removal, which it never received: it believes it is a voter.
    expect(back.status().membership.voters).toContain(victim.id);
    const steps: string[] = [];
    await c.settle(
      back.cluster.replace(victim.id, "d", "mem://d", {
        onProgress: (p) => steps.push(p.step),
      }),
    );
    // It could not read the membership itself (no quorum answers it), and changed nothing.
    expect(steps).toEqual(["readMembership", "done"]);
    expect(leader.status().membership.voters).toContain("d");
    await c.stopAll();
  });

  it("on a removed node whose replacement is not complete, says so and names the current members to call instead", async () => {
    const c = await started();
    const leader = c.leader()!;
    const victim = [...c.nodes.values()].find((n) => n.status().role !== "leader")!;
    await c.settle(victim.stop());
    await c.settle(leader.cluster.remove(victim.id));
    const back = await c.start(victim.id);
    const failed = await c.settle(back.cluster.replace(victim.id, "d", "mem://d")).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(MembershipStepError);
    expect((failed as MembershipStepError).step).toBe("readMembership");
    expect((failed as Error).message).toMatch(
      new RegExp(`this node \\(${victim.id}\\) was removed.*call it on a current member`),
    );
    await c.stopAll();
  });

  it("names the step that failed (the new node never starts: catchUp), and resumes when called again", async () => {
    const c = await started();
    const leader = c.leader()!;
    const victim = [...c.nodes.values()].find((n) => n.status().role !== "leader")!;
    const failed = await c
      .settle(leader.cluster.replace(victim.id, "d", "mem://d", { catchUpTimeoutMs: 2_000 }))
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(MembershipStepError);
    expect((failed as MembershipStepError).step).toBe("catchUp");
    expect(leader.status().membership.learners).toContain("d");
    await c.start("d");
    const steps: string[] = [];
    await c.settle(
      leader.cluster.replace(victim.id, "d", "mem://d", {
        onProgress: (p) => p.phase === "start" && steps.push(p.step),
      }),
    );
    expect(steps).toEqual(["readMembership", "catchUp", "swap", "leaveJoint", "unpublish"]);
    await c.stopAll();
  });
});

describe("cluster.addVoter stages a new node", () => {
  it("adds it as a learner and promotes it once caught up; staging: false adds a voter at once", async () => {
    const c = await started();
    const leader = c.leader()!;
    const steps: string[] = [];
    const adding = leader.cluster.addVoter("d", "mem://d", {
      onProgress: (p) => p.phase === "start" && steps.push(p.step),
    });
    await c.until(() => leader.status().membership.learners.includes("d"));
    expect(leader.status().membership.voters).not.toContain("d");
    await c.start("d");
    await c.settle(adding);
    expect(steps).toEqual(["readMembership", "addLearner", "catchUp", "promote"]);
    expect(leader.status().membership.voters).toContain("d");
    await c.settle(leader.cluster.remove("d"));
    await c.settle(leader.cluster.addVoter("e", "mem://e", { staging: false }));
    expect(leader.status().membership.voters).toContain("e");
    await c.stopAll();
  });
});
