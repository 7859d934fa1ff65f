import { createClient } from "@raftkit/sdk";
import { describe, expect, it } from "vitest";
import { type fixtureCounter, freePort, SECRET, startCluster, useWorkspace, waitFor } from "./cliHarness.js";

const ws = useWorkspace();

/** `raftkit members` as id and kind, sorted by id. */
async function membersOf(endpoints: string): Promise<{ id: string; kind: string }[]> {
  const r = await ws.run(["members", "--endpoints", endpoints, "-o", "json"]);
  return (JSON.parse(r.stdout) as { id: string; kind: string }[])
    .map(({ id, kind }) => ({ id, kind }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

// One 3-process cluster for the file: replace, then the refusals, then add-voter, each on the
// membership the one before left.
describe("raftkit replace and add-voter against a 3-process cluster", () => {
  let peers: Record<string, string>;
  let endpoints: string;
  /** Runs `raftkit args…` on the cluster, giving up quickly on a new node that does not run. */
  const impatient = (args: string[]) =>
    ws.run([...args, "--endpoints", endpoints, "--catch-up-timeout-ms", "1500"]);

  it("replace stops part-way with exit 5 when the new node is not running, then resumes once it runs: members and data follow", async () => {
    peers = await startCluster(ws, ["n1", "n2", "n3"], "r");
    endpoints = Object.values(peers).join(",");
    const client = createClient<typeof fixtureCounter>({
      endpoints: Object.values(peers).map((u) => `${u}/raftkit`),
      secret: SECRET,
    });
    for (let i = 1; i <= 30; i++) await client.commands.add(i);
    const leader = await waitFor("a leader", async () => {
      const r = await ws.run(["status", "--endpoints", endpoints, "-o", "json"]);
      return (JSON.parse(r.stdout) as { leader: string | null }).leader ?? undefined;
    });
    const victim = ["n1", "n2", "n3"].find((id) => id !== leader)!;
    const n4 = `http://127.0.0.1:${await freePort()}`;

    // n4 is not running yet: the leader adds it as a learner, then gives up waiting for it.
    const stopped = await impatient(["replace", victim, "n4", n4]);
    expect(stopped.code, stopped.stderr).toBe(5);
    expect(stopped.stdout).toMatch(/adding n4 as a learner\nwaiting for n4 to catch up/);
    expect(stopped.stderr).toMatch(
      /failed at step "catchUp".*Done before it: readMembership, addLearner\..*Run the same raftkit replace command again/,
    );

    await ws.join("r", "n4", n4, peers);
    const replaced = await ws.run(["replace", victim, "n4", n4, "--endpoints", endpoints]);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout).toMatch(
      /waiting for n4 to catch up\n(.*\n)*promoting n4 and removing the old member in one joint change\nleaving the joint configuration\nunpublishing the old member\ndone\nreplaced .* by n4/,
    );
    expect(replaced.stdout).not.toMatch(/adding n4 as a learner/);

    const rows = await membersOf(endpoints);
    expect(rows).toContainEqual({ id: "n4", kind: "voter" });
    expect(rows.map((r) => r.id)).not.toContain(victim);

    // The data is on n4: a session read served by n4 itself sees every write.
    const onN4 = createClient<typeof fixtureCounter>({
      endpoints: [`${n4}/raftkit`],
      sessionReadEndpoint: `${n4}/raftkit`,
      secret: SECRET,
    });
    expect(await onN4.query.value(undefined, { consistency: "session", after: client.token })).toBe(465);
    expect(await ws.stop(`r-${victim}`)).toBe(0);
    delete peers[victim];
    peers.n4 = n4;
    endpoints = Object.values(peers).join(",");
  }, 180_000);

  it("replace refuses an old id that is not a voter, or a new id that already is one, with exit 6 and nothing changed", async () => {
    const before = await membersOf(endpoints);
    const notVoter = await ws.run(["replace", "n9", "n5", "http://127.0.0.1:1", "--endpoints", endpoints]);
    expect(notVoter.code, notVoter.stderr).toBe(6);
    expect(notVoter.stderr).toMatch(
      /replace\(n9 → n5\) refused: n9 is not a voter of this cluster \(voters: .*n4.*\)\. Nothing was changed\./,
    );
    const [a, b] = Object.keys(peers);
    const alreadyVoter = await ws.run(["replace", a!, b!, peers[b!]!, "--endpoints", endpoints]);
    expect(alreadyVoter.code, alreadyVoter.stderr).toBe(6);
    expect(alreadyVoter.stderr).toMatch(new RegExp(`${b} is already a voter of this cluster`));
    expect(await membersOf(endpoints)).toEqual(before);
  }, 60_000);

  it("add-voter stops part-way with exit 5 while the node is not running, then adds it as a learner and promotes it once it runs; again, it changes nothing", async () => {
    const n5 = `http://127.0.0.1:${await freePort()}`;
    const stopped = await impatient(["add-voter", "n5", n5]);
    expect(stopped.code, stopped.stderr).toBe(5);
    expect(stopped.stdout).toMatch(/adding n5 as a learner\nwaiting for n5 to catch up/);
    expect(stopped.stderr).toMatch(
      /addVoter\(n5\) failed at step "catchUp".*Run the same raftkit add-voter command again/,
    );

    await ws.join("r", "n5", n5, peers);
    const added = await ws.run(["add-voter", "n5", n5, "--endpoints", endpoints]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(
      /^reading the cluster's membership\nwaiting for n5 to catch up\n(.*\n)*promoting n5\ndone\nn5 is a voter\nvoters: .*n5/,
    );
    const again = await ws.run(["add-voter", "n5", n5, "--endpoints", endpoints]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^reading the cluster's membership\ndone\nn5 is a voter/);

    const voters = (await membersOf(endpoints)).filter((r) => r.kind === "voter").map((r) => r.id);
    expect(voters).toEqual([...Object.keys(peers), "n5"].sort());
  }, 120_000);
});
