import { rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { clusterPerTest, type ProcessCluster, waitFor } from "./processCluster.js";

// Real node processes on 127.0.0.1 with store-fs in temp directories; waits on conditions
// under generous deadlines, never fixed sleeps.
const newCluster = clusterPerTest();

/** Waits until `via` sees `added` as a voter, `gone` as no member, the joint configuration left and `gone` unpublished. */
async function replaced(c: ProcessCluster, via: string, gone: string, added: string): Promise<void> {
  await waitFor(
    `${via} to see ${gone} replaced by ${added}`,
    async () => {
      const m = await c.membership(via);
      const conf = m.membership as { voters: string[]; learners: string[]; votersOutgoing?: string[] };
      return (
        conf.voters.includes(added) &&
        !conf.voters.includes(gone) &&
        !conf.learners.includes(gone) &&
        (conf.votersOutgoing ?? []).length === 0 &&
        !Object.hasOwn(m.published, gone)
      );
    },
    60_000,
  );
}

/** Writes one command after another until stopped; counts them and keeps the slowest. */
function keepWriting(c: ProcessCluster, ids: string[]) {
  const client = c.client(ids, { timeoutMs: 60_000 });
  const w = { ok: 0, slowestMs: 0, error: null as unknown, stop: false, done: Promise.resolve() };
  w.done = (async () => {
    for (let i = 0; !w.stop; i++) {
      const t = Date.now();
      try {
        await client.commands.add({ by: 1, id: `during-${i}` });
        w.ok++;
        w.slowestMs = Math.max(w.slowestMs, Date.now() - t);
      } catch (e) {
        w.error = e;
        return;
      }
    }
  })();
  return w;
}

describe("cluster.replace and staged addVoter, over real processes", { timeout: 240_000 }, () => {
  it("replaces the leader in one call; a session read on the new node sees the client's write", async () => {
    const c = newCluster();
    await c.define(["n1", "n2", "n3", "n4"]);
    await Promise.all(
      ["n1", "n2", "n3"].map((id) =>
        c.start(id, { peers: { n1: c.peers.n1!, n2: c.peers.n2!, n3: c.peers.n3! } }),
      ),
    );
    const leader = await waitFor("a leader", () => c.leader(["n1", "n2", "n3"]));
    const client = c.client(["n1", "n2", "n3"], { timeoutMs: 60_000 });
    for (let i = 0; i < 20; i++) await client.commands.add({ by: 1, id: `before-${i}` });
    expect(await c.start("n4", { join: true })).toEqual(expect.objectContaining({ ready: true }));

    const answer = await c.admin(leader, "replace", { id: leader, newId: "n4", address: c.peers.n4! });
    expect(answer.status).toBe(200);
    const others = ["n1", "n2", "n3"].filter((id) => id !== leader);
    for (const id of others) await replaced(c, id, leader, "n4");

    const after = c.client([...others, "n4"], { timeoutMs: 60_000 });
    await after.commands.add({ by: 1, id: "after" });
    // The client's token makes a session read on n4 wait for its write, with no leader round trip.
    const reader = createSessionReader(c, after);
    expect(await reader).toBe(21);
  });

  it("replaces a node whose disk was lost by a node with a new id", async () => {
    const c = newCluster();
    await c.define(["n1", "n2", "n3", "n5"]);
    const three = { n1: c.peers.n1!, n2: c.peers.n2!, n3: c.peers.n3! };
    await Promise.all(["n1", "n2", "n3"].map((id) => c.start(id, { peers: three })));
    const leader = await waitFor("a leader", () => c.leader(["n1", "n2", "n3"]));
    const client = c.client(["n1", "n2", "n3"], { timeoutMs: 60_000 });
    for (let i = 0; i < 20; i++) await client.commands.add({ by: 1, id: `before-${i}` });
    const lost = ["n1", "n2", "n3"].find((id) => id !== leader)!;
    await c.signal(lost, "SIGKILL");
    rmSync(c.members.get(lost)!.dataDir, { recursive: true, force: true });

    expect(await c.start("n5", { join: true })).toEqual(expect.objectContaining({ ready: true }));
    const survivors = ["n1", "n2", "n3"].filter((id) => id !== lost);
    const via = await waitFor("a leader among the survivors", () => c.leader(survivors));
    const answer = await c.admin(via, "replace", { id: lost, newId: "n5", address: c.peers.n5! });
    expect(answer.status).toBe(200);
    for (const id of [...survivors, "n5"]) await replaced(c, id, lost, "n5");
    const now = c.client([...survivors, "n5"], { timeoutMs: 60_000 });
    await now.commands.add({ by: 1, id: "after" });
    expect(await now.query.value()).toBe(21);
  });

  it("adds a node to a cluster with a large log (a snapshot to install) without losing availability", async () => {
    const c = newCluster({ snapshotEntries: 300, snapshotCatchUpEntries: 100 });
    await c.define(["n1", "n2", "n3", "n4"]);
    const three = { n1: c.peers.n1!, n2: c.peers.n2!, n3: c.peers.n3! };
    await Promise.all(["n1", "n2", "n3"].map((id) => c.start(id, { peers: three })));
    const leader = await waitFor("a leader", () => c.leader(["n1", "n2", "n3"]));
    const client = c.client(["n1", "n2", "n3"], { timeoutMs: 60_000 });
    for (let batch = 0; batch < 30; batch++)
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => client.commands.add({ by: 1, id: `load-${batch}-${i}` })),
      );

    const writer = keepWriting(c, ["n1", "n2", "n3"]);
    // Staged: added as a learner while it is not even running, promoted only once caught up.
    const adding = c.admin(leader, "addVoter", { id: "n4", address: c.peers.n4! });
    await waitFor("n4 to be a learner", async () =>
      (await c.status(leader))?.membership.learners.includes("n4"),
    );
    expect((await c.status(leader))?.membership.voters).not.toContain("n4");
    expect(await c.start("n4", { join: true })).toEqual(expect.objectContaining({ ready: true }));
    expect((await adding).status).toBe(200);
    await waitFor("a few more writes after n4 became a voter", () => writer.ok > 20 && writer.ok);
    writer.stop = true;
    await writer.done;
    expect(writer.error).toBeNull();
    expect(writer.ok).toBeGreaterThan(20);
    // No write waited out an election or the learner's catch-up.
    expect(writer.slowestMs).toBeLessThan(5_000);
    // The leader answered once it applied the promotion; n4 applies it a moment later.
    const s = await waitFor("n4 to apply its own promotion", async () => {
      const own = await c.status("n4");
      return own?.membership.voters.includes("n4") && own;
    });
    expect(s.applied).toBeGreaterThan(3_000);
    expect(c.logs("n4")).toMatch(/snapshot/i);
  });
});

/** A session read of `value` on n4 through a client that carries `writer`'s token. */
async function createSessionReader(
  c: ProcessCluster,
  writer: ReturnType<ProcessCluster["client"]>,
): Promise<unknown> {
  const { createClient } = await import("../../src/createClient.js");
  const reader = createClient<typeof import("./testMachine.js").testMachine>({
    endpoints: [`${c.peers.n4}/raftkit`],
    secret: "e2e-secret",
  });
  return reader.query.value(undefined, { consistency: "session", after: writer.token });
}
