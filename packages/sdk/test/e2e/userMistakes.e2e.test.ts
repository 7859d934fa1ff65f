import { describe, expect, it } from "vitest";
import { CommandError, ValidationError } from "../../src/errors.js";
import { clusterPerTest, SECRET, waitFor } from "./processCluster.js";

// Issue #10 as a new user would meet it, on real node processes: each ordinary mistake fails
// its own call, identically on every node, and the cluster keeps serving through snapshots
// and a restart that replays the log.
const newCluster = clusterPerTest();

describe("mistakes in the user's machine", { timeout: 120_000 }, () => {
  it("a bad argument, a leaked function, a returned Promise and Math.random fail their calls; snapshots, a restart and replay keep working and every node agrees", async () => {
    const c = newCluster({ snapshotEntries: 10, snapshotCatchUpEntries: 5 });
    await c.define(["n1", "n2", "n3"]);
    await c.startAll();
    await waitFor("a leader", () => c.leader());
    const client = c.client();

    // 1. A wrong argument is refused on the receiving node before it is proposed.
    const bad = { name: 5, ttlMs: "10" } as unknown as { name: string; ttlMs: number };
    const refused = await client.commands.acquire(bad).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).issues.map((i) => i.path)).toEqual([["name"], ["ttlMs"]]);
    const raw = await fetch(`${c.peers.n2}/raftkit/commands/acquire`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}` },
      body: JSON.stringify({ json: { arg: { name: "db", ttlMs: "10" } } }),
    });
    expect(raw.status).toBe(400);
    expect(await client.commands.acquire({ name: "db", ttlMs: 1_000 })).toBeTypeOf("number");

    // 2 and 3. Each mistake fails its command; the commands around it are applied.
    const mistakes = [
      ["leakFunction", "NOT_SERIALIZABLE"],
      ["returnPromise", "NOT_SERIALIZABLE"],
      ["rollDice", "NONDETERMINISM"],
    ] as const;
    let expected = 0;
    for (let round = 0; round < 8; round++) {
      for (const [name, code] of mistakes) {
        const err = await client.commands[name]().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(CommandError);
        expect(err).toMatchObject({ command: name, code });
        await client.commands.add({ by: 1, id: `r${round}-${name}` });
        expected++;
      }
    }
    expect(await client.query.value()).toBe(expected);
    expect(await client.query.locks()).toEqual({ db: { expiresAt: expect.any(Number) } });

    // Snapshots were taken (every 10 entries); a follower killed and restarted replays and catches up.
    const leader = (await c.leader())!;
    const follower = ["n1", "n2", "n3"].find((id) => id !== leader)!;
    await c.signal(follower, "SIGKILL");
    await client.commands.add({ by: 1, id: "while-down" });
    expected++;
    await c.start(follower);
    const target = (await c.status(leader))!.commit;
    await waitFor(
      "the restarted follower to catch up",
      async () => ((await c.status(follower))?.applied ?? 0) >= target,
    );
    for (const id of ["n1", "n2", "n3"]) {
      expect(await c.client([id]).query.value(undefined, { consistency: "stale" })).toBe(expected);
    }
    for (const id of ["n1", "n2", "n3"])
      expect(c.logs(id)).not.toMatch(/snapshot.*(fail|error)|cannot be encoded/i);
    expect(await client.commands.add({ by: 1, id: "after" })).toBe(expected + 1);
  });
});
