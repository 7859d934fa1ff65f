import { join } from "node:path";
import { createClient } from "@raftkit/sdk";
import { describe, expect, it } from "vitest";
import { type fixtureCounter, freePort, SECRET, startCluster, useWorkspace, waitFor } from "./cliHarness.js";

interface Row {
  id: string;
  kind: string;
  role: string | null;
  leader: string | null;
  health: string;
  lag: number | null;
  version: string | null;
  address: string | null;
}

const ws = useWorkspace();

const endpointsOf = (peers: Record<string, string>): string => Object.values(peers).join(",");

async function statusJson(endpoints: string): Promise<{ leader: string | null; members: Row[] }> {
  const r = await ws.run(["status", "--endpoints", endpoints, "-o", "json"]);
  return JSON.parse(r.stdout) as { leader: string | null; members: Row[] };
}

describe("raftkit against a 3-process cluster started with raftkit start", () => {
  let peers: Record<string, string>;
  let endpoints: string;

  it("status prints every member as a table and as JSON", async () => {
    peers = await startCluster(ws, ["n1", "n2", "n3"], "a");
    endpoints = endpointsOf(peers);
    const s = await waitFor("a leader everyone sees", async () => {
      const j = await statusJson(endpoints);
      return j.members.length === 3 && j.members.every((m) => m.health === "healthy") && j;
    });
    expect(s.members.map((m) => m.id)).toEqual(["n1", "n2", "n3"]);
    expect(s.members.filter((m) => m.role === "leader")).toHaveLength(1);
    expect(
      s.members.every((m) => m.leader === s.leader && m.version === "0.1.0" && m.address === peers[m.id]),
    ).toBe(true);

    const table = await ws.run(["status", "--endpoints", peers.n1!]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      /^ID\s+ADDRESS\s+KIND\s+ROLE\s+TERM\s+LEADER\s+COMMIT\s+APPLIED\s+LAG\s+HEALTH\s+VERSION\s+MACHINE$/,
    );
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(["n1", "n2", "n3"]);
    expect(lines.slice(1).every((l) => l.includes("healthy"))).toBe(true);
  }, 120_000);

  it("members, add-learner, promote, transfer-leader and remove", async () => {
    const client = createClient<typeof fixtureCounter>({
      endpoints: Object.values(peers).map((u) => `${u}/raftkit`),
      secret: SECRET,
    });
    await client.commands.add(5);

    const n4 = `http://127.0.0.1:${await freePort()}`;
    const added = await ws.run(["add-learner", "n4", n4, "--endpoints", endpoints]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/added n4 as a learner/);
    await ws.join("a", "n4", n4, peers);
    const members = await ws.run(["members", "--endpoints", endpoints, "-o", "json"]);
    expect(JSON.parse(members.stdout)).toContainEqual(
      expect.objectContaining({ id: "n4", kind: "learner", address: n4 }),
    );
    await waitFor(
      "n4 caught up",
      async () => (await statusJson(endpoints)).members.find((m) => m.id === "n4")?.lag === 0,
    );

    expect((await ws.run(["promote", "n4", "--endpoints", endpoints])).code).toBe(0);
    expect((await statusJson(endpoints)).members.find((m) => m.id === "n4")?.kind).toBe("voter");

    const moved = await ws.run(["transfer-leader", "n4", "--endpoints", endpoints]);
    expect(moved.code, moved.stderr).toBe(0);
    await waitFor("n4 leads", async () => (await statusJson(endpoints)).leader === "n4");
    expect((await ws.run(["transfer-leader", "n2", "--endpoints", endpoints])).code).toBe(0);
    await waitFor("n2 leads", async () => (await statusJson(endpoints)).leader === "n2");

    const removed = await ws.run(["remove", "n4", "--endpoints", endpoints]);
    expect(removed.code, removed.stderr).toBe(0);
    const table = await ws.run(["members", "--endpoints", endpoints]);
    expect(table.stdout).not.toMatch(/^n4 /m);
    expect(await ws.stop("a-n4")).toBe(0);

    const refused = await ws.run(["promote", "nobody", "--endpoints", endpoints]);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toMatch(
      /promote nobody refused: nobody is not a member: add it with add-learner first/,
    );
  }, 120_000);

  it("snapshot save, then restore into a NEW 3-node cluster gives the same state", async () => {
    const client = createClient<typeof fixtureCounter>({
      endpoints: Object.values(peers).map((u) => `${u}/raftkit`),
      secret: SECRET,
    });
    for (let i = 1; i <= 10; i++) await client.commands.add(i);
    const before = await client.query.log();
    const file = join(ws.base, "backup.snap");
    // From a follower: the read barrier makes it hold every acknowledged write.
    const saved = await ws.run(["snapshot", "save", file, "--endpoints", peers.n3!]);
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.stdout).toMatch(
      /saved .*backup\.snap: index \d+, term \d+, voters n1,n2,n3, \d+ bytes, sha256 [0-9a-f]{64}/,
    );

    const fresh = await startCluster(ws, ["m1", "m2", "m3"], "b", file);
    const restored = createClient<typeof fixtureCounter>({
      endpoints: Object.values(fresh).map((u) => `${u}/raftkit`),
      secret: SECRET,
    });
    expect(await restored.query.log()).toEqual(before);
    expect(await restored.commands.add(1)).toBe(before.reduce((a, b) => a + b, 0) + 1);
    const s = await waitFor("the new cluster healthy", async () => {
      const j = await statusJson(endpointsOf(fresh));
      return j.members.every((m) => m.health === "healthy") && j;
    });
    expect(s.members.map((m) => [m.id, m.address])).toEqual(Object.entries(fresh));
    for (const id of ["m1", "m2", "m3"]) expect(await ws.stop(`b-${id}`)).toBe(0);
  }, 120_000);

  it("SIGTERM stops each member cleanly (exit 0); check then reads its directory", async () => {
    for (const id of ["n1", "n2", "n3"]) expect(await ws.stop(`a-${id}`)).toBe(0);
    const r = await ws.run(["check", join(ws.base, "a", "n1")]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/: OK\nidentity: {3}node n1 of cluster "raftkit"/);
  }, 60_000);
});
