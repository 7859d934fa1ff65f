import { describe, expect, it } from "vitest";
import { TimeoutError } from "../../src/index.js";
import { clusterPerTest, waitFor } from "./processCluster.js";

const newCluster = clusterPerTest();

describe("createClient against node processes", { timeout: 120_000 }, () => {
  it("keeps writing through a leader SIGKILL: every acknowledged command is applied exactly once", async () => {
    const c = newCluster();
    await c.define(["n1", "n2", "n3"]);
    await c.startAll();
    await waitFor("a leader", () => c.leader());
    const client = c.client(undefined, { timeoutMs: 60_000, requestTimeoutMs: 1_000 });
    const commits: string[] = [];
    const sub = client.commits$.subscribe((e) => {
      if (e.name === "add") commits.push((e.args[0] as { id: string }).id);
    });

    const acked: string[] = [];
    const unknown: string[] = [];
    let stop = false;
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const id = `w${w}-${i}`;
        try {
          await client.commands.add({ by: 1, id });
          acked.push(id);
        } catch (e) {
          if (!(e instanceof TimeoutError)) throw e;
          unknown.push(id);
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await waitFor("some writes", () => acked.length >= 100);
    const leader = (await c.leader())!;
    await c.signal(leader, "SIGKILL");
    const before = acked.length;
    const commitsBefore = commits.length;
    await waitFor("writes after the kill", () => acked.length >= before + 200, 60_000);
    stop = true;
    await Promise.all(writers);

    const survivors = ["n1", "n2", "n3"].filter((id) => id !== leader);
    const ids = await c.client(survivors).query.ids();
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    // Applied at most once, whatever the retries.
    expect([...counts.values()].filter((n) => n > 1)).toEqual([]);
    // Every acknowledged command is there.
    expect(acked.filter((id) => !counts.has(id))).toEqual([]);
    // Nothing appears that was never sent.
    expect(ids.filter((id) => !acked.includes(id) && !unknown.includes(id))).toEqual([]);
    expect(await c.client(survivors).query.value()).toBe(ids.length);
    // The event stream followed the cluster through the failover.
    await waitFor("commit events after the kill", () => commits.length > commitsBefore);
    sub.unsubscribe();
  });
});
