import { describe, expect, it } from "vitest";
import { createClient } from "../../src/createClient.js";
import { clusterPerTest, type ProcessCluster, SECRET, waitFor } from "./processCluster.js";
import type { testMachineV2 } from "./testMachineV2.js";

// Real node processes: a cluster on machine version 1 is rolled, one node at a time, onto
// code that supports versions 1 and 2, under a client writing all along, then switched to
// version 2. Waits on conditions under generous deadlines; never sleeps for a fixed time.
const newCluster = clusterPerTest();

const IDS = ["n1", "n2", "n3"];

/** GET /raftkit/status, stopped nodes (503) included. */
async function rawStatus(c: ProcessCluster, id: string): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await fetch(`${c.peers[id]}/raftkit/status`, {
      headers: { authorization: `Bearer ${SECRET}` },
      signal: AbortSignal.timeout(2_000),
    });
    return (await res.json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

async function upgrade(c: ProcessCluster, via: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${c.peers[via]}/raftkit/upgrade-machine`, {
    method: "POST",
    headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
    body: "{}",
  });
  return { status: res.status, body: await res.json() };
}

/** A client writing `add` commands with unique ids one after another until stopped. */
function writer(c: ProcessCluster) {
  const client = c.client(IDS, { timeoutMs: 60_000 });
  const acked: string[] = [];
  const failed: string[] = [];
  let stop = false;
  const done = (async () => {
    for (let i = 0; !stop; i++) {
      const id = `w${i}`;
      try {
        await client.commands.add({ by: 1, id });
        acked.push(id);
      } catch {
        failed.push(id); // not acknowledged: may or may not be applied, never twice
      }
    }
  })();
  return {
    acked,
    failed,
    /** Resolves once `n` more writes were acknowledged. */
    progress: (n: number) => {
      const target = acked.length + n;
      return waitFor(`${n} more acknowledged writes`, () => acked.length >= target, 60_000);
    },
    stop: async () => {
      stop = true;
      await done;
    },
  };
}

describe("upgrading the machine version of a running cluster", { timeout: 300_000 }, () => {
  it("rolls 3 processes onto version-2 code under load, switches to version 2, and applies every acknowledged write exactly once", async () => {
    const c = newCluster();
    await c.define(IDS);
    await c.startAll();
    await waitFor("a leader", () => c.leader());
    const w = writer(c);
    await w.progress(10);

    for (const id of IDS) {
      await c.signal(id, "SIGTERM");
      await w.progress(5); // the other two carry on
      expect((await c.start(id, { code: 2 })).ready).toBe(true);
      await waitFor(
        `${id} to report supporting version 2 through the log`,
        async () => {
          const { published } = await c.membership(id);
          return (published[id] as { supports?: number } | undefined)?.supports === 2;
        },
        60_000,
      );
      await w.progress(5);
    }
    for (const id of IDS)
      expect(await rawStatus(c, id)).toMatchObject({ machineVersion: 1, supportsMachineVersion: 2 });

    const up = await upgrade(c, "n2");
    expect(up).toEqual({ status: 200, body: { from: 1, to: 2 } });
    await waitFor(
      "every node at machine version 2",
      async () =>
        (await Promise.all(IDS.map((id) => rawStatus(c, id)))).every((s) => s?.machineVersion === 2),
      60_000,
    );
    await w.progress(10);
    await w.stop();

    const v2 = createClient<typeof testMachineV2>({
      endpoints: IDS.map((id) => `${c.peers[id]}/raftkit`),
      secret: SECRET,
    });
    expect(await v2.commands.stamp()).toBe(2);
    const ids = await v2.query.ids();
    const byVersion = (await v2.query.byVersion())!;
    // Every acknowledged write is there exactly once, and no write (acknowledged or not) twice.
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const id of w.acked) expect(counts.get(id), id).toBe(1);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(ids.length - w.acked.length).toBeLessThanOrEqual(w.failed.length);
    // The migration counted the writes before the switch; ctx.version 2 counted those after.
    expect(byVersion[1]! + byVersion[2]!).toBe(ids.length);
    expect(byVersion[2]).toBeGreaterThanOrEqual(10);
    // Every replica holds the same log of ids.
    const leader = (await c.leader())!;
    const commit = (await c.status(leader))!.commit;
    await waitFor("every node to apply everything", async () =>
      (await Promise.all(IDS.map((id) => c.status(id)))).every((s) => (s?.applied ?? 0) >= commit),
    );
    for (const id of IDS) {
      const one = createClient<typeof testMachineV2>({
        endpoints: [`${c.peers[id]}/raftkit`],
        secret: SECRET,
      });
      expect(await one.query.ids(undefined, { consistency: "stale" })).toEqual(ids);
    }
  });

  it("stops a node whose code only supports version 1 once the cluster is at version 2, with MachineTooOldError", async () => {
    const c = newCluster();
    await c.define(IDS);
    await Promise.all(IDS.map((id) => c.start(id, { code: 2 })));
    await waitFor("a leader", () => c.leader());
    await waitFor("every member to report version 2", async () => {
      const { published } = await c.membership("n1");
      return IDS.every((id) => (published[id] as { supports?: number } | undefined)?.supports === 2);
    });
    await c.client().commands.add({ by: 1, id: "before" });
    expect(await upgrade(c, "n1")).toEqual({ status: 200, body: { from: 1, to: 2 } });

    await c.signal("n3", "SIGTERM");
    const started = await c.start("n3", { code: 1 });
    // Replaying its log reaches the switch (or, from a snapshot, the version in it): it stops.
    const reason = started.ready
      ? await waitFor("n3 to stop", async () => {
          const s = await rawStatus(c, "n3");
          return s?.stopped === true ? String(s.stoppedReason) : undefined;
        })
      : `${started.code}: ${started.error}`;
    expect(reason).toMatch(/machine version 2 .*supports machine versions up to 1/);
    expect(c.logs("n3")).toContain("MachineTooOldError");
    // The others go on at version 2.
    await c.client(["n1", "n2"]).commands.add({ by: 1, id: "after" });
    expect((await rawStatus(c, "n1"))?.machineVersion).toBe(2);
  });
});
