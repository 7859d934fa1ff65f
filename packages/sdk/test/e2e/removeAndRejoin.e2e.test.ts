import { rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { clusterPerTest, waitFor } from "./processCluster.js";

// Real node processes on 127.0.0.1 with store-fs in temp directories; waits on conditions
// under generous deadlines, never fixed sleeps.
const newCluster = clusterPerTest();

describe("cluster.remove, then adding the member back with an empty data directory", {
  timeout: 180_000,
}, () => {
  it("the removed id is unpublished, so it rejoins without LostDataError, catches up and the cluster keeps serving", async () => {
    const c = newCluster();
    await c.define(["n1", "n2", "n3"]);
    await c.startAll();
    await waitFor("a leader", () => c.leader());
    const client = c.client(undefined, { timeoutMs: 60_000 });
    // Every node's session now holds its PUBLISH; the remover also runs commands of its own below.
    await waitFor(
      "every member to have announced itself",
      async () => Object.keys((await c.membership("n1")).published).length === 3,
    );
    for (let i = 0; i < 20; i++) await client.commands.add({ by: 1, id: `before-${i}` });

    // Remove n3 through a live member other than n3 (move leadership off n3 first).
    if ((await c.leader()) === "n3") {
      expect((await c.admin("n3", "transfer", { id: "n1" })).status).toBe(200);
      await waitFor("n3 to hand over leadership", () => c.leader(["n1", "n2"]));
    }
    const via = (await c.leader(["n1", "n2"]))!;
    const removed = await c.admin(via, "remove", { id: "n3" });
    expect(removed.status).toBe(200);
    for (const id of ["n1", "n2"]) {
      await waitFor(`${id} to see n3 removed and unpublished`, async () => {
        const m = await c.membership(id);
        return !m.membership.voters.includes("n3") && !Object.hasOwn(m.published, "n3");
      });
    }

    // n3 loses its data; the cluster keeps serving without it.
    await c.signal("n3", "SIGKILL");
    rmSync(c.members.get("n3")!.dataDir, { recursive: true, force: true });
    const survivors = c.client(["n1", "n2"], { timeoutMs: 60_000 });
    for (let i = 0; i < 10; i++) await survivors.commands.add({ by: 1, id: `between-${i}` });

    // Add it back as a new member: learner first, start it with join, then promote.
    const leader = await waitFor("a leader among n1, n2", () => c.leader(["n1", "n2"]));
    expect((await c.admin(leader, "addLearner", { id: "n3", address: c.peers.n3! })).status).toBe(200);
    const again = await c.start("n3", { join: true });
    expect(again).toEqual(expect.objectContaining({ ready: true }));
    expect(c.logs("n3")).not.toMatch(/IDENTITY_MISMATCH|has run before/);
    const commit = (await c.status(leader))!.commit;
    await waitFor("n3 to catch up", async () => ((await c.status("n3"))?.applied ?? 0) >= commit, 60_000);
    const promoted = await c.admin(leader, "promote", { id: "n3" });
    expect(promoted.status).toBe(200);
    await waitFor("n3 to be a voter", async () => (await c.status("n3"))?.membership.voters.includes("n3"));
    await waitFor("n3 to publish itself again", async () =>
      Object.hasOwn((await c.membership(leader)).published, "n3"),
    );

    // Same state everywhere, and the three-node cluster keeps serving.
    for (let i = 0; i < 10; i++) await client.commands.add({ by: 1, id: `after-${i}` });
    expect(await client.query.value()).toBe(40);
    const ids = await client.query.ids();
    expect(ids).toHaveLength(40);
    const last = (await c.status(await waitFor("a leader", () => c.leader())))!.commit;
    await waitFor(
      "n3 to apply the latest writes",
      async () => ((await c.status("n3"))?.applied ?? 0) >= last,
    );
    expect(await c.client(["n3"]).query.ids(undefined, { consistency: "stale" })).toEqual(ids);
  });
});
