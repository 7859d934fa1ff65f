import { afterEach, describe, expect, it } from "vitest";
import { defineMachine } from "../src/defineMachine.js";
import { DivergedError, type DivergenceEvent } from "../src/divergence.js";
import { LocalCluster, waitFor } from "./localCluster.js";

/**
 * Non-determinism the guards cannot see: a module-level counter. The three nodes of a
 * LocalCluster share this module, so each entry runs `skewed` three times, and only the third
 * run — on one node — adds the skew.
 */
let runs = 0;
const machine = defineMachine({
  initial: () => ({ n: 0 }),
  commands: {
    add(s, by: number) {
      s.n += by;
      return s.n;
    },
    skewed(s) {
      runs++;
      s.n += runs % 3 === 0 ? 1_000 : 1;
    },
  },
  queries: { value: (s) => s.n },
});

let cluster: LocalCluster<typeof machine> | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

async function started(errors: string[]): Promise<LocalCluster<typeof machine>> {
  const c = new LocalCluster(machine, undefined, {
    divergenceCheckEntries: 5,
    logger: { error: (m) => errors.push(m) },
  });
  cluster = c;
  await c.startAll();
  await waitFor(() => (c.leader()?.status().applied ?? 0) >= c.ids.length + 1);
  return c;
}

describe("replica divergence detection", () => {
  it("replicas that stay alike run state checks and find nothing", async () => {
    const errors: string[] = [];
    const c = await started(errors);
    const node = c.leader()!;
    const checks: number[] = [];
    const replicated = c.machines.get(node.id)!;
    const monitor = replicated.onStateCheck!;
    replicated.onStateCheck = (index, hash) => {
      checks.push(index);
      monitor(index, hash);
    };
    for (let i = 0; i < 12; i++) await node.commands.add(1);
    await waitFor(() => checks.length >= 2);
    const reports = () => [...c.nodes.values()].map((n) => n.status().applied);
    await waitFor(() => reports().every((a) => a >= node.status().commit));
    expect(errors).toEqual([]);
    for (const n of c.nodes.values()) expect(n.status().diverged).toBe(false);
  });

  it("names the diverged node and index in an error log and on divergence$; it stops answering queries, the others go on", async () => {
    const errors: string[] = [];
    const c = await started(errors);
    const events = new Map<string, DivergenceEvent[]>();
    for (const [id, n] of c.nodes)
      n.divergence$.subscribe((e) => events.set(id, [...(events.get(id) ?? []), e]));
    const leader = c.leader()!;
    runs = 0;
    // One entry at a time, each applied on all three nodes before the next.
    await leader.commands.skewed();
    await waitFor(() => [...c.nodes.values()].every((n) => n.status().applied >= leader.status().commit));
    for (let i = 0; i < 8; i++) await leader.commands.add(1);

    await waitFor(() => [...c.nodes.values()].some((n) => n.status().diverged));
    const bad = [...c.nodes.values()].filter((n) => n.status().diverged);
    expect(bad).toHaveLength(1);
    const badId = bad[0]!.id;
    expect(c.machines.get(badId)!.state).not.toEqual(
      c.machines.get(leader.id === badId ? c.ids.find((x) => x !== badId)! : leader.id)!.state,
    );
    await waitFor(() => [...c.nodes.keys()].every((id) => (events.get(id) ?? []).length > 0));
    for (const [id, list] of events) {
      expect(Object.keys(list[0]!.diverged)).toEqual([badId]);
      expect(list[0]!.self).toBe(id === badId);
    }
    expect(
      errors.some(
        (m) => m.includes(`divergence at index ${events.get(badId)![0]!.index}`) && m.includes(badId),
      ),
    ).toBe(true);

    await expect(bad[0]!.query.value(undefined, { consistency: "stale" })).rejects.toBeInstanceOf(
      DivergedError,
    );
    const healthy = [...c.nodes.values()].filter((n) => n.id !== badId);
    for (const n of healthy) {
      expect(n.status().diverged).toBe(false);
      expect(await n.query.value(undefined, { consistency: "stale" })).toBe(
        (c.machines.get(n.id)!.state as { n: number }).n,
      );
    }
  });
});
