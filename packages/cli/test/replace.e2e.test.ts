import { join } from "node:path";
import { createClient, defineMachine } from "@raftkit/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli, freePort, MACHINE, SECRET, startCluster, Workspace, waitFor } from "./cliHarness.js";

/** The fixture machine's shape, for a typed client. */
const counter = defineMachine({
  initial: () => ({ n: 0, log: [] as number[] }),
  commands: { add: (s, by: number) => (s.n += by) },
  queries: { value: (s) => s.n, log: (s) => s.log },
});

let ws: Workspace;
beforeAll(() => {
  buildCli();
  ws = new Workspace();
}, 300_000);
afterAll(async () => {
  await ws.cleanup();
});

describe("raftkit replace against a 3-process cluster", () => {
  it("stops part-way with exit 5 when the new node is not running, then resumes once it runs: members and data follow", async () => {
    const peers = await startCluster(ws, ["n1", "n2", "n3"], "r");
    const endpoints = Object.values(peers).join(",");
    const client = createClient<typeof counter>({
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
    const stopped = await ws.run([
      "replace",
      victim,
      "n4",
      n4,
      "--endpoints",
      endpoints,
      "--catch-up-timeout-ms",
      "1500",
    ]);
    expect(stopped.code, stopped.stderr).toBe(5);
    expect(stopped.stdout).toMatch(/adding n4 as a learner\nwaiting for n4 to catch up/);
    expect(stopped.stderr).toMatch(
      /failed at step "catchUp".*Done before it: readMembership, addLearner\..*Run the same raftkit replace command again/,
    );

    await ws.start("r-n4", [
      "--machine",
      MACHINE,
      "--id",
      "n4",
      "--data-dir",
      join(ws.base, "r", "n4"),
      "--join",
      "--peers",
      `${Object.entries(peers)
        .map(([id, u]) => `${id}=${u}`)
        .join(",")},n4=${n4}`,
      "--listen",
      new URL(n4).host,
    ]);
    const replaced = await ws.run(["replace", victim, "n4", n4, "--endpoints", endpoints]);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout).toMatch(
      /waiting for n4 to catch up\n(.*\n)*promoting n4 and removing the old member in one joint change\nleaving the joint configuration\nunpublishing the old member\ndone\nreplaced .* by n4/,
    );
    expect(replaced.stdout).not.toMatch(/adding n4 as a learner/);

    const members = await ws.run(["members", "--endpoints", endpoints, "-o", "json"]);
    const rows = JSON.parse(members.stdout) as { id: string; kind: string }[];
    expect(rows).toContainEqual(expect.objectContaining({ id: "n4", kind: "voter" }));
    expect(rows.map((r) => r.id)).not.toContain(victim);

    // The data is on n4: a session read served by n4 itself sees every write.
    const onN4 = createClient<typeof counter>({
      endpoints: [`${n4}/raftkit`],
      sessionReadEndpoint: `${n4}/raftkit`,
      secret: SECRET,
    });
    expect(await onN4.query.value(undefined, { consistency: "session", after: client.token })).toBe(465);
    expect(await ws.stop(`r-${victim}`)).toBe(0);
  }, 180_000);
});
