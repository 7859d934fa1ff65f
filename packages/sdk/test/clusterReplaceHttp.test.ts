import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { MembershipStepError } from "../src/cluster/membershipErrors.js";
import type { MembershipProgress } from "../src/cluster/membershipProgress.js";
import { createClient } from "../src/createClient.js";
import { defineMachine } from "../src/defineMachine.js";
import { createAppRouter } from "../src/httpApi.js";
import type { ApiErrorBody } from "../src/wire.js";
import { LocalCluster, waitFor } from "./localCluster.js";

const counter = defineMachine({
  initial: () => ({ n: 0 }),
  commands: {
    add(s, by: number) {
      s.n += by;
      return s.n;
    },
  },
  queries: { value: (s) => s.n },
});

const servers: Server[] = [];
let cluster: LocalCluster<typeof counter> | null = null;

afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
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
  const urls: Record<string, string> = {};
  for (const id of c.ids) {
    const app = express();
    app.use(
      "/raftkit",
      createAppRouter(c.node(id), () => urls),
    );
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    servers.push(server);
    urls[id] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  for (let i = 0; i < 20; i++) await c.leader()!.commands.add(1);
  return { endpoints: c.ids.map((id) => `${urls[id]}/raftkit`), c };
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
});
