import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { defineMachine } from "../src/defineMachine.js";
import { CommandError, DecodeError, UnknownOperationError } from "../src/errors.js";
import { LocalCluster, useFakeTime } from "./localCluster.js";

const counter = defineMachine({
  initial: () => ({ n: 0, history: [] as { at: Date; by: number }[], seen: new Map<string, bigint>() }),
  commands: {
    add(s, by: number, ctx) {
      if (!Number.isFinite(by)) throw new RangeError(`cannot add ${by}`);
      s.n += by;
      s.history.push({ at: ctx.time, by });
      return s.n;
    },
    addThenFail(s, by: number) {
      s.n += by;
      throw new Error("changed my mind");
    },
    mark(s, arg: { key: string; big: bigint }) {
      s.seen.set(arg.key, arg.big);
      return s.seen;
    },
    roll(_s, _: undefined, ctx) {
      return [ctx.random(), ctx.random(), ctx.index];
    },
  },
  queries: {
    value: (s) => s.n,
    since: (s, t: Date) => s.history.filter((h) => h.at >= t).length,
    big: (s, key: string) => s.seen.get(key),
  },
});

beforeEach(useFakeTime);
afterEach(() => {
  vi.useRealTimers();
});

async function started() {
  const c = new LocalCluster(counter);
  await c.startAll();
  await c.until(() => c.leader() !== undefined);
  return c;
}

describe("a machine on a cluster", () => {
  it("runs typed commands from any node and answers queries with their results", async () => {
    const c = await started();
    const follower = [...c.nodes.values()].find((n) => n.status().role !== "leader")!;
    expect(await c.settle(c.leader()!.commands.add(5))).toBe(5);
    expect(await c.settle(follower.commands.add(2))).toBe(7);
    expect(await c.settle(follower.query.value())).toBe(7);
    expect(await c.settle(follower.query.since(new Date(0)))).toBe(2);
    expect(await c.settle(follower.query.value(undefined, { consistency: "stale" }))).toBe(7);
    expect(await c.settle(c.leader()!.query.value(undefined, { consistency: "lease" }))).toBe(7);
    await c.stopAll();
  });

  it("a reducer that throws leaves the state unchanged on every node and rejects the caller", async () => {
    const c = await started();
    const leader = c.leader()!;
    await c.settle(leader.commands.add(1));
    await expect(c.settle(leader.commands.addThenFail(100))).rejects.toMatchObject({
      name: "CommandError",
      errorName: "Error",
      message: "changed my mind",
    });
    await expect(c.settle(leader.commands.add(Number.NaN))).rejects.toBeInstanceOf(CommandError);
    await c.until(() => [...c.machines.values()].every((m) => (m.state as { n: number }).n === 1));
    await c.stopAll();
  });

  it("Date, Map and BigInt survive the log and queries", async () => {
    const c = await started();
    const leader = c.leader()!;
    const seen = await c.settle(leader.commands.mark({ key: "k", big: 2n ** 70n }));
    expect(seen).toBeInstanceOf(Map);
    expect(seen.get("k")).toBe(2n ** 70n);
    const other = [...c.nodes.values()].find((n) => n !== leader)!;
    expect(await c.settle(other.query.big("k"))).toBe(2n ** 70n);
    await c.stopAll();
  });

  it("refuses unknown commands and arguments superjson cannot carry, before proposing", async () => {
    const c = await started();
    const leader = c.leader()!;
    const commit = leader.status().commit;
    const untyped = leader.commands as unknown as Record<string, (a?: unknown) => Promise<unknown>>;
    await expect(untyped.nope!()).rejects.toBeInstanceOf(UnknownOperationError);
    await expect(untyped.add!(() => 1)).rejects.toBeInstanceOf(DecodeError);
    await expect(untyped.add!(new (class Point {})())).rejects.toBeInstanceOf(DecodeError);
    expect(leader.status().commit).toBe(commit);
    await c.stopAll();
  });

  it("ctx.random and ctx.time are the same on every node", async () => {
    const c = await started();
    const results: unknown[] = [];
    for (const n of c.nodes.values())
      n.commits$.subscribe((e) => e.name === "roll" && results.push(e.result));
    await c.settle(c.leader()!.commands.roll(undefined));
    await c.until(() => results.length === 3);
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    await c.stopAll();
  });

  it("a retried command (same session and sequence) is applied once and answers with the first result", async () => {
    const c = await started();
    const leader = c.leader() as ReturnType<typeof c.leader> & {
      runner: import("../src/machineNode.js").CommandRunner<typeof counter>;
    };
    const first = await c.settle(leader.runner.runSequenced("add", 10, "client-1", 1, () => 1));
    const again = await c.settle(leader.runner.runSequenced("add", 10, "client-1", 1, () => 1));
    expect(first).toBe(10);
    expect(again).toBe(10);
    expect(await c.settle(leader.query.value())).toBe(10);
    await c.stopAll();
  });

  it("sessions and state survive snapshots: a restarted node restores both", async () => {
    const c = await started();
    const leader = c.leader()!;
    for (let i = 0; i < 60; i++) await c.settle(leader.commands.add(1));
    const victim = [...c.nodes.values()].find((n) => n !== leader)!;
    await c.settle(victim.stop());
    expect(c.storages.get(victim.id)!.snapshot().meta.index).toBeGreaterThan(0);
    const back = await c.start(victim.id);
    await c.until(() => (c.machines.get(back.id)!.state as { n: number }).n === 60);
    await c.stopAll();
  });

  it("streams commits and state", async () => {
    const c = await started();
    const leader = c.leader()!;
    const events: { name: string; args: unknown[]; result: unknown }[] = [];
    const states: number[] = [];
    leader.commits$.subscribe((e) => events.push(e));
    leader.state$.subscribe((s) => states.push(s.n));
    await c.settle(leader.commands.add(3));
    expect(events).toMatchObject([{ name: "add", args: [3], result: 3 }]);
    expect(states.at(-1)).toBe(3);
    await c.stopAll();
  });
});

describe("cluster operations through the typed node", () => {
  it("transfers leadership and removes a member", async () => {
    const c = await started();
    const leader = c.leader()!;
    const target = [...c.nodes.values()].find((n) => n !== leader)!;
    await c.settle(leader.transferLeadership(target.id));
    expect(target.status().role).toBe("leader");
    const victim = [...c.nodes.values()].find((n) => n !== target)!;
    await c.settle(target.cluster.remove(victim.id));
    expect(target.status().membership.voters).not.toContain(victim.id);
    expect(await c.settle(target.commands.add(1))).toBe(1);
    await c.stopAll();
  });
});
