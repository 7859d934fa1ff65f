import { afterEach, describe, expect, it } from "vitest";
import { MembershipRefusedError, MembershipStepError } from "../src/cluster/membershipErrors.js";
import type { MembershipProgress } from "../src/cluster/membershipProgress.js";
import { createClient } from "../src/createClient.js";
import type { ApiErrorBody } from "../src/wire.js";
import { closeAppServers, serveCluster } from "./appServers.js";
import { counter } from "./counterMachine.js";
import { LocalCluster, waitFor } from "./localCluster.js";

let cluster: LocalCluster<typeof counter> | null = null;

afterEach(async () => {
  await closeAppServers();
  await cluster?.stopAll();
  cluster = null;
});

/** a, b, c served over HTTP on real timers; d joins (no bootstrap) once the test starts it. */
async function served(): Promise<{ endpoints: string[]; c: LocalCluster<typeof counter> }> {
  const c = new LocalCluster(
    counter,
    ["a", "b", "c"],
    {},
    { raft: (id) => (id === "d" ? { bootstrap: false } : {}) },
  );
  cluster = c;
  await c.startReady();
  const endpoints = await serveCluster(c);
  for (let i = 0; i < 20; i++) await c.leader()!.commands.add(1);
  return { endpoints, c };
}

describe("cluster.replace over the app API", () => {
  it("a stop part-way answers 409 MEMBERSHIP_INCOMPLETE with the step, and createClient rejects with MembershipStepError", async () => {
    const { endpoints, c } = await served();
    const leader = c.leader()!;
    const victim = c.ids.find((id) => id !== leader.id)!;
    const leaderUrl = endpoints[c.ids.indexOf(leader.id)]!;
    // d is never started: the catch-up cannot finish.
    const res = await fetch(`${leaderUrl}/cluster/replace`, {
      method: "POST",
      body: JSON.stringify({ json: { id: victim, newId: "d", address: "mem://d", catchUpTimeoutMs: 500 } }),
    });
    expect(res.status).toBe(409);
    const { error } = (await res.json()) as ApiErrorBody;
    expect(error.code).toBe("MEMBERSHIP_INCOMPLETE");
    expect(error.membership).toMatchObject({
      operation: "replace",
      step: "catchUp",
      done: ["readMembership", "addLearner"],
    });

    const client = createClient<typeof counter>({ endpoints });
    const steps: MembershipProgress[] = [];
    const failed = await client.cluster
      .replace(victim, "d", "mem://d", { catchUpTimeoutMs: 500, onProgress: (p) => steps.push(p) })
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(MembershipStepError);
    const f = failed as MembershipStepError;
    expect([f.code, f.step, f.done]).toEqual(["MEMBERSHIP_INCOMPLETE", "catchUp", ["readMembership"]]);
    expect(f.message).toMatch(/Retry the same call/);
    // The learner was added by the first attempt: this one went straight to the catch-up, and streamed it.
    expect(steps.filter((p) => p.phase === "start").map((p) => p.step)).toEqual([
      "readMembership",
      "catchUp",
    ]);
  });

  it("streams each step and the learner's progress to onProgress, and resumes to done once the new node runs", async () => {
    const { endpoints, c } = await served();
    const victim = c.ids.find((id) => id !== c.leader()!.id)!;
    await c.start("d");
    const client = createClient<typeof counter>({ endpoints });
    const steps: MembershipProgress[] = [];
    await client.cluster.replace(victim, "d", "mem://d", {
      maxLagEntries: 2,
      onProgress: (p) => steps.push(p),
    });
    expect(steps.filter((p) => p.phase === "start").map((p) => p.step)).toEqual([
      "readMembership",
      "addLearner",
      "catchUp",
      "swap",
      "leaveJoint",
      "unpublish",
    ]);
    expect(steps.some((p) => p.phase === "progress")).toBe(true);
    expect(steps.at(-1)).toEqual({ step: "done", phase: "done" });
    await waitFor(() => c.leader()?.status().membership.voters.includes("d") === true);
    expect(c.leader()!.status().membership.voters).not.toContain(victim);
    expect(await client.query.value()).toBe(20);
  });

  it("refuses an old id that is not a voter, or a new id that already is one, with 409 MEMBERSHIP_REFUSED before changing anything", async () => {
    const { endpoints, c } = await served();
    const leader = c.leader()!;
    const leaderUrl = endpoints[c.ids.indexOf(leader.id)]!;
    const before = leader.status().membership;
    const post = (body: Record<string, string>) =>
      fetch(`${leaderUrl}/cluster/replace`, { method: "POST", body: JSON.stringify({ json: body }) });

    const notVoter = await post({ id: "n9", newId: "d", address: "mem://d" });
    expect(notVoter.status).toBe(409);
    const { error } = (await notVoter.json()) as ApiErrorBody;
    expect(error).toMatchObject({ code: "MEMBERSHIP_REFUSED", refused: { call: "replace(n9 → d)" } });
    expect(error.message).toBe(
      "replace(n9 → d) refused: n9 is not a voter of this cluster (voters: a, b, c). Nothing was changed.",
    );
    const alreadyVoter = await post({ id: "a", newId: "b", address: "mem://b" });
    expect(alreadyVoter.status).toBe(409);
    expect(((await alreadyVoter.json()) as ApiErrorBody).error.message).toMatch(
      /^replace\(a → b\) refused: b is already a voter of this cluster \(voters: a, b, c\)/,
    );

    // In process and through createClient alike: a typed error, and the membership untouched.
    await expect(leader.cluster.replace("n9", "d", "mem://d")).rejects.toBeInstanceOf(MembershipRefusedError);
    await expect(leader.cluster.replace("a", "a", "mem://a")).rejects.toMatchObject({
      code: "MEMBERSHIP_REFUSED",
      reason: "the new node needs an id other than a",
    });
    const client = createClient<typeof counter>({ endpoints });
    const refused = await client.cluster.replace("n9", "d", "mem://d").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MembershipRefusedError);
    expect(refused).toMatchObject({
      code: "MEMBERSHIP_REFUSED",
      reason: expect.stringMatching(/^n9 is not a voter/),
    });
    expect(leader.status().membership).toEqual(before);
  });
});
