import { describe, expect, it } from "vitest";
import { clusterPerTest, waitFor } from "./processCluster.js";

// Real node processes on 127.0.0.1 with store-fs in temp directories; waits on conditions
// under generous deadlines, never fixed sleeps.
const newCluster = clusterPerTest();

describe("a first start with an empty data directory, over real processes", { timeout: 240_000 }, () => {
  it("a member whose bootstrap never happened joins with edited peers instead of splitting the cluster; a stranger is refused", async () => {
    // Stack seed 1019's story: n1 is a first member whose bootstrap never reached its disk (here:
    // it never started), n2 is replaced by n4 meanwhile, and n1 comes up with the peers of now.
    const c = newCluster();
    await c.define(["n1", "n2", "n3", "n4", "n5"]);
    const first = { n1: c.peers.n1!, n2: c.peers.n2!, n3: c.peers.n3! };
    await Promise.all(["n2", "n3"].map((id) => c.start(id, { peers: first })));
    const leader = await waitFor("a leader among n2, n3", () => c.leader(["n2", "n3"]));
    const client = c.client(["n2", "n3"], { timeoutMs: 60_000 });
    for (let i = 0; i < 5; i++) await client.commands.add({ by: 1, id: `before-${i}` });

    // n4 joins knowing the current members (it must answer the leader, which may be n2).
    expect(await c.start("n4", { join: true, peers: { ...first, n4: c.peers.n4! } })).toEqual(
      expect.objectContaining({ ready: true }),
    );
    const answer = await c.admin(leader, "replace", { id: "n2", newId: "n4", address: c.peers.n4! });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    await waitFor(
      "n3 to see n2 replaced by n4",
      async () => {
        const conf = (await c.membership("n3")).membership;
        return conf.voters.includes("n4") && !conf.voters.includes("n2");
      },
      60_000,
    );
    await c.signal("n2", "SIGKILL");

    // n1 starts empty with the peers edited after the replace. Bootstrapping them (n1, n3, n4 at term 1) would
    // hold other entries at the indexes where the cluster has n1, n2, n3: it must join instead.
    const edited = { n1: c.peers.n1!, n3: c.peers.n3!, n4: c.peers.n4! };
    expect(await c.start("n1", { peers: edited })).toEqual(expect.objectContaining({ ready: true }));
    expect(c.logs("n1")).toMatch(/lists n1 .*takes the log from its leader instead of bootstrapping/);
    expect(c.logs("n1")).not.toMatch(/bootstrapping a new cluster/);
    const everyone = c.client(["n1", "n3", "n4"], { timeoutMs: 60_000 });
    for (let i = 0; i < 5; i++) await everyone.commands.add({ by: 1, id: `after-${i}` });
    const commit = (await c.status((await waitFor("a leader", () => c.leader(["n1", "n3", "n4"])))!))!.commit;
    await waitFor(
      "n1 to apply the latest writes",
      async () => ((await c.status("n1"))?.applied ?? 0) >= commit,
    );
    const n1 = await c.status("n1");
    expect([...n1!.membership.voters].sort()).toEqual(["n1", "n3", "n4"]);
    const ids = await everyone.query.ids();
    expect(ids).toHaveLength(10);
    expect(await c.client(["n1"]).query.ids(undefined, { consistency: "stale" })).toEqual(ids);

    // A node the cluster does not list, started empty without join, must not form a cluster of its own.
    const stranger = await c.start("n5", { peers: { n3: c.peers.n3!, n5: c.peers.n5! } });
    expect(stranger).toEqual(expect.objectContaining({ ready: false, code: "CLUSTER_EXISTS" }));
    expect(stranger.error).toMatch(/n3 is a member of an existing one \(members n1, n3, n4\).*--join/);
  });
});
