import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { clusterPerTest, type ProcessCluster, SECRET, waitFor } from "./processCluster.js";

// Real node processes on 127.0.0.1 with store-fs in temp directories. Each test waits for
// conditions under generous deadlines; none sleeps for a fixed time.
const newCluster = clusterPerTest();

async function threeNodes(options = {}): Promise<ProcessCluster> {
  const c = newCluster(options);
  await c.define(["n1", "n2", "n3"]);
  await c.startAll();
  await waitFor("a leader", () => c.leader());
  return c;
}

describe("a cluster of node processes", { timeout: 120_000 }, () => {
  it("elects a leader, replicates, survives SIGKILL of the leader without losing acknowledged writes, and the old leader catches up", async () => {
    const c = await threeNodes();
    const client = c.client();
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) {
      const id = `w${i}`;
      await client.commands.add({ by: 1, id });
      acked.push(id);
    }
    const old = (await c.leader())!;
    const t0 = Date.now();
    await c.signal(old, "SIGKILL");
    const others = ["n1", "n2", "n3"].filter((id) => id !== old);
    const fresh = await waitFor("a new leader", () => c.leader(others));
    const electedInMs = Date.now() - t0;
    // tickMs 50 × electionTick 10: a few election timeouts at most.
    expect(electedInMs).toBeLessThan(10_000);
    expect(fresh).not.toBe(old);
    for (let i = 20; i < 40; i++) {
      const id = `w${i}`;
      await client.commands.add({ by: 1, id });
      acked.push(id);
    }
    const ids = await client.query.ids();
    expect(ids).toEqual(acked);

    await c.start(old);
    const target = (await c.status(fresh))!.commit;
    await waitFor("the old leader to catch up", async () => ((await c.status(old))?.applied ?? 0) >= target);
    const oldClient = c.client([old]);
    expect(await oldClient.query.ids(undefined, { consistency: "stale" })).toEqual(acked);
  });

  it("a follower stopped with SIGSTOP catches up after SIGCONT", async () => {
    const c = await threeNodes();
    const leader = (await c.leader())!;
    const follower = ["n1", "n2", "n3"].find((id) => id !== leader)!;
    const client = c.client([leader]);
    await c.signal(follower, "SIGSTOP");
    for (let i = 0; i < 30; i++) await client.commands.add({ by: 2, id: `s${i}` });
    await c.signal(follower, "SIGCONT");
    const commit = (await c.status(leader))!.commit;
    await waitFor(
      "the follower to catch up",
      async () => ((await c.status(follower))?.applied ?? 0) >= commit,
    );
    expect(await c.client([follower]).query.value(undefined, { consistency: "stale" })).toBe(60);
  });

  it("a leader stopped with SIGSTOP and resumed after a new leader committed never answers a lease read with stale state", async () => {
    const c = await threeNodes();
    const old = (await c.leader())!;
    const others = ["n1", "n2", "n3"].filter((id) => id !== old);
    await c.client([old]).commands.add({ by: 1, id: "before" });
    expect(await c.client([old]).query.value(undefined, { consistency: "lease" })).toBe(1);
    await c.signal(old, "SIGSTOP");
    await waitFor("a new leader", () => c.leader(others));
    await c.client(others).commands.add({ by: 10, id: "after" });
    // The read is sent while the old leader is stopped, so it waits in the socket with the
    // peers' messages: on SIGCONT it may run before a single tick or message.
    const read = c
      .client([old])
      .query.value(undefined, { consistency: "lease" })
      .then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
    await c.signal(old, "SIGCONT");
    const outcome = await read;
    if ("value" in outcome) expect(outcome.value).toBe(11);
    else expect(outcome.error).toHaveProperty("code");
  });

  it("after compaction, a new node added as a learner catches up by snapshot and is promoted to voter", async () => {
    const c = await threeNodes({ snapshotEntries: 50, snapshotCatchUpEntries: 10 });
    const client = c.client();
    for (let i = 0; i < 150; i++) await client.commands.add({ by: 1, id: `c${i}` });
    await c.define(["n4"]);
    const joined = await c.start("n4", { join: true });
    expect(joined.ready).toBe(true);
    const leader = (await c.leader())!;
    const admin = await fetch(`${c.peers[leader]}/raftkit/cluster/addLearner`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
      body: JSON.stringify({ json: { id: "n4", address: c.peers.n4 } }),
    });
    expect(admin.status).toBe(200);
    const commit = (await c.status(leader))!.commit;
    await waitFor("the learner to catch up", async () => ((await c.status("n4"))?.applied ?? 0) >= commit);
    expect(c.logs("n4")).toMatch(/restored the state machine from a snapshot/);
    const promote = await fetch(`${c.peers[leader]}/raftkit/cluster/promote`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
      body: JSON.stringify({ json: { id: "n4" } }),
    });
    expect(promote.status).toBe(200);
    await waitFor("n4 to be a voter", async () => (await c.status("n4"))?.membership.voters.includes("n4"));
    expect(await c.client(["n4"]).query.value()).toBe(150);
  });

  it("refuses to restart a member whose data directory was lost", async () => {
    const c = await threeNodes();
    const client = c.client();
    await client.commands.add({ by: 1, id: "x" });
    const leader = await c.leader();
    const victim = ["n1", "n2", "n3"].find((id) => id !== leader)!;
    await waitFor("every member to have announced itself", async () => {
      const res = await fetch(`${c.peers.n1}/raftkit/members`, {
        headers: { authorization: `Bearer ${SECRET}` },
      });
      const body = (await res.json()) as { published: Record<string, unknown> };
      return Object.keys(body.published).length === 3;
    });
    await c.signal(victim, "SIGKILL");
    const { rmSync } = await import("node:fs");
    rmSync(c.members.get(victim)!.dataDir, { recursive: true, force: true });
    const again = await c.start(victim);
    expect(again.ready).toBe(false);
    expect(again.code).toBe("IDENTITY_MISMATCH");
    expect(again.error).toMatch(/data directory.*lost|remove it/i);
  });

  it("refuses peers with a wrong secret, malformed or oversized bodies, or another cluster id, and keeps serving", async () => {
    const c = await threeNodes();
    const url = `${c.peers.n1}/raft/messages`;
    const post = (headers: Record<string, string>, body: Uint8Array | string) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/octet-stream", ...headers },
        body,
      });
    const wrongSecret = await post({ authorization: "Bearer nope", "x-raftkit-cluster-id": "raftkit" }, "x");
    expect(wrongSecret.status).toBe(401);
    const otherCluster = await post(
      { authorization: `Bearer ${SECRET}`, "x-raftkit-cluster-id": "other" },
      "x",
    );
    expect(otherCluster.status).toBe(403);
    const malformed = await post(
      { authorization: `Bearer ${SECRET}`, "x-raftkit-cluster-id": "raftkit" },
      "garbage",
    );
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { message: string } }).error.message).toBeTruthy();
    // Declare a 9 MiB body and wait for the answer before sending it: the node refuses it from
    // the length alone. (Streaming the body meanwhile races the node closing the connection:
    // the client may see EPIPE before it reads the 413.)
    const huge = await new Promise<number>((resolve, reject) => {
      const req = request(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${SECRET}`,
          "x-raftkit-cluster-id": "raftkit",
          "content-type": "application/octet-stream",
          "content-length": String(9 * 1024 * 1024),
        },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on("error", reject);
      req.flushHeaders();
    });
    expect(huge).toBe(413);
    const client = c.client();
    expect(await client.commands.add({ by: 5, id: "after" })).toBe(5);
  });
});
