import { TimeoutError } from "@raftkit/core";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidCallOptionsError } from "../src/callOptions.js";
import { defineMachine } from "../src/defineMachine.js";
import { LocalCluster } from "./localCluster.js";

const list = defineMachine({
  initial: () => ({ items: ["a", "b", "c", "d", "e", "f"] }),
  commands: {
    push(s, item: string) {
      s.items.push(item);
      return s.items.length;
    },
    clear(s) {
      s.items = [];
    },
  },
  queries: {
    top: (s, n = 3) => s.items.slice(0, n),
    count: (s) => s.items.length,
  },
});

let cluster: LocalCluster<typeof list> | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

async function started(): Promise<LocalCluster<typeof list>> {
  cluster = new LocalCluster(list);
  return cluster.startReady();
}

describe("call arguments and options", () => {
  it("a query with a default parameter gets the argument it is called with", async () => {
    const node = (await started()).leader()!;
    expect(await node.query.top()).toEqual(["a", "b", "c"]);
    expect(await node.query.top(5)).toEqual(["a", "b", "c", "d", "e"]);
    expect(await node.query.top(2, { consistency: "stale" })).toEqual(["a", "b"]);
    expect(await node.query.count(undefined, { consistency: "lease" })).toBe(6);
  });

  it("commands take per-call options after the argument, also without an argument", async () => {
    const node = (await started()).leader()!;
    expect(await node.commands.push("g", { timeoutMs: 5_000 })).toBe(7);
    await node.commands.clear(undefined, { timeoutMs: 5_000 });
    expect(await node.query.count()).toBe(0);
  });

  it("a command's timeoutMs bounds it: with no quorum it fails after that long, not the node's default", async () => {
    const c = await started();
    const node = c.leader()!;
    for (const id of c.ids) if (id !== node.id) await c.node(id).stop();
    const t0 = Date.now();
    await expect(node.commands.push("x", { timeoutMs: 300 })).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it("refuses a negative, non-finite or absurd timeoutMs, or an unknown option, before anything is proposed", async () => {
    const node = (await started()).leader()!;
    const commit = node.status().commit;
    for (const timeoutMs of [-1, 0, Number.NaN, Number.POSITIVE_INFINITY, 2 * 24 * 60 * 60 * 1000]) {
      await expect(node.commands.push("x", { timeoutMs })).rejects.toThrow(InvalidCallOptionsError);
      await expect(node.query.top(1, { timeoutMs })).rejects.toThrow(/timeoutMs must be a finite number/);
    }
    await expect(node.commands.push("x", { timeout: 5 } as never)).rejects.toThrow(
      /unknown option "timeout"/,
    );
    await expect(node.query.count(undefined, { consistency: "eventual" } as never)).rejects.toThrow(
      /consistency must be/,
    );
    expect(node.status().commit).toBe(commit);
    expect(await node.query.count()).toBe(6);
  });
});
