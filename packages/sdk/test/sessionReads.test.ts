import { StoppedError, TimeoutError } from "@raftkit/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { InvalidCallOptionsError } from "../src/callOptions.js";
import { defineMachine } from "../src/defineMachine.js";
import { LocalCluster, useFakeTime } from "./localCluster.js";

const kv = defineMachine({
  initial: () => ({ m: {} as Record<string, number> }),
  commands: {
    put(s, a: { k: string; v: number }) {
      s.m[a.k] = a.v;
      return a.v;
    },
  },
  queries: { get: (s, k: string) => s.m[k] },
});

beforeEach(useFakeTime);
afterEach(() => {
  vi.useRealTimers();
});

type Cluster = LocalCluster<typeof kv>;

async function started(): Promise<Cluster> {
  const c = new LocalCluster(kv);
  await c.startAll();
  await c.until(() => c.leader() !== undefined, 10_000);
  return c;
}

const followers = (c: Cluster) => [...c.nodes.values()].filter((n) => n.status().role !== "leader");

describe('consistency: "session"', () => {
  it("a command's answer carries its log index as a token, and its result is unchanged", async () => {
    const c = await started();
    const leader = c.leader()!;
    const { result, token } = await c.settle(leader.withToken.commands.put({ k: "x", v: 1 }));
    expect(result).toBe(1);
    expect(token).toBeGreaterThan(0);
    expect(token).toBeLessThanOrEqual(leader.status().applied);
    expect(await c.settle(leader.commands.put({ k: "x", v: 2 }))).toBe(2);
    await c.stopAll();
  });

  it("a follower that has not applied the token yet waits for it, then observes the write (read-your-writes)", async () => {
    const c = await started();
    const leader = c.leader()!;
    const follower = followers(c)[0]!;
    // Cut the follower off so it falls behind, write through the leader, then heal.
    c.net.isolate(follower.id);
    const { token } = await c.settle(leader.withToken.commands.put({ k: "x", v: 7 }));
    expect(follower.status().applied).toBeLessThan(token);
    expect(await c.settle(follower.query.get("x", { consistency: "stale" }))).toBeUndefined();
    const read = follower.withToken.query.get("x", { consistency: "session", after: token });
    c.net.heal();
    const answer = await c.settle(read);
    expect(answer.result).toBe(7);
    expect(answer.token).toBeGreaterThanOrEqual(token);
    await c.stopAll();
  });

  it("monotonic reads: a read's token makes a read on a node that is further behind wait for that state", async () => {
    const c = await started();
    const leader = c.leader()!;
    const [f1, f2] = followers(c);
    c.net.isolate(f2!.id);
    await c.settle(leader.commands.put({ k: "x", v: 3 }));
    await c.until(() => f1!.status().applied >= leader.status().commit);
    const first = await c.settle(f1!.withToken.query.get("x", { consistency: "session" }));
    expect(first.result).toBe(3);
    const second = f2!.query.get("x", { consistency: "session", after: first.token });
    c.net.heal();
    expect(await c.settle(second)).toBe(3);
    await c.stopAll();
  });

  it("a token this node does not reach within the query's timeout fails with TimeoutError, without a leader round trip", async () => {
    const c = await started();
    const follower = followers(c)[0]!;
    const ahead = follower.status().applied + 1_000;
    await expect(
      c.settle(follower.query.get("x", { consistency: "session", after: ahead, timeoutMs: 200 })),
    ).rejects.toBeInstanceOf(TimeoutError);
    await c.stopAll();
  });

  it("a stopped node refuses, also while a session read waits", async () => {
    const c = await started();
    const follower = followers(c)[0]!;
    const waiting = follower.query.get("x", {
      consistency: "session",
      after: follower.status().applied + 1_000,
    });
    const refused = expect(c.settle(waiting)).rejects.toBeInstanceOf(StoppedError);
    await c.settle(follower.stop());
    await refused;
    await expect(follower.query.get("x", { consistency: "session" })).rejects.toBeInstanceOf(StoppedError);
    await c.stopAll();
  });

  it('refuses malformed tokens, and a token without consistency: "session"', async () => {
    const c = await started();
    const n = c.leader()!;
    for (const after of [-1, 1.5, "12", Number.NaN, null])
      await expect(
        n.query.get("x", { consistency: "session", after: after as unknown as number }),
      ).rejects.toBeInstanceOf(InvalidCallOptionsError);
    await expect(n.query.get("x", { after: 1 })).rejects.toThrow(/consistency: "session"/);
    await c.stopAll();
  });

  it("tokens survive JSON", async () => {
    const c = await started();
    const leader = c.leader()!;
    const { token } = await c.settle(leader.withToken.commands.put({ k: "y", v: 9 }));
    const back = JSON.parse(JSON.stringify({ token })).token;
    const f = followers(c)[0]!;
    expect(await c.settle(f.query.get("y", { consistency: "session", after: back }))).toBe(9);
    await c.stopAll();
  });
});
