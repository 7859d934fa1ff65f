import { describe, expect, it } from "vitest";
import { InvalidCallOptionsError } from "../../src/index.js";
import { clusterPerTest, waitFor } from "./processCluster.js";

const newCluster = clusterPerTest();

describe("createClient session reads against node processes", { timeout: 120_000 }, () => {
  it("writes through the leader, reads through a follower, and never misses its own write or goes back", async () => {
    const c = newCluster();
    await c.define(["n1", "n2", "n3"]);
    await c.startAll();
    const leader = await waitFor("a leader", () => c.leader());
    const follower = ["n1", "n2", "n3"].find((id) => id !== leader)!;
    const client = c.client(undefined, { timeoutMs: 60_000 });
    const reader = c.client([follower], { timeoutMs: 60_000 });
    const writer = await import("../../src/createClient.js").then(({ createClient }) =>
      createClient<typeof import("./testMachine.js").testMachine>({
        endpoints: [`${c.peers[leader]}/raftkit`, `${c.peers[follower]}/raftkit`],
        sessionReadEndpoint: `${c.peers[follower]}/raftkit`,
        secret: "e2e-secret",
        timeoutMs: 60_000,
      }),
    );
    let lastRead = 0;
    for (let i = 0; i < 100; i++) {
      const { result: n, token } = await writer.withToken.commands.add({ by: 1, id: `w-${i}` });
      expect(writer.token).toBeGreaterThanOrEqual(token);
      // The client's own token, by default: served by the follower once it applied the write.
      const seen = await writer.withToken.query.value(undefined, { consistency: "session" });
      expect(seen.result).toBeGreaterThanOrEqual(n);
      expect(seen.result).toBeGreaterThanOrEqual(lastRead);
      expect(seen.token).toBeGreaterThanOrEqual(token);
      lastRead = seen.result;
      // Another client handed the token (as a browser would, through JSON) reads its write too.
      const handed = JSON.parse(JSON.stringify({ token })).token as number;
      expect(
        await reader.query.value(undefined, { consistency: "session", after: handed }),
      ).toBeGreaterThanOrEqual(n);
    }
    expect(await client.query.value()).toBe(100);
    await expect(reader.query.value(undefined, { consistency: "session", after: -3 })).rejects.toBeInstanceOf(
      InvalidCallOptionsError,
    );
    // The node checks a token it receives, whoever sent it.
    const res = await fetch(`${c.peers[follower]}/raftkit/queries/value`, {
      method: "POST",
      headers: { authorization: "Bearer e2e-secret", "content-type": "application/json" },
      body: JSON.stringify({ json: { args: [null, { consistency: "session", after: "12" }] } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("BAD_REQUEST");
  });
});
