import type { Entry } from "@raftkit/core";
import { isDraft } from "immer";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { encodeValue } from "../src/codec.js";
import type { CommandPayload } from "../src/commandLog.js";
import { defineMachine } from "../src/defineMachine.js";
import { ReplicatedMachine } from "../src/replicatedMachine.js";
import { LocalCluster, useFakeTime } from "./localCluster.js";

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

const shelf = defineMachine({
  initial: () => ({ n: 0, items: [{ v: 1, tags: new Set(["a"]) }], byKey: new Map([["k", { v: 2 }]]) }),
  commands: {
    first(s) {
      s.n += 1;
      return { item: s.items[0]! };
    },
    nested(s) {
      s.items[0]!.v += 1;
      return [s.items[0]!, new Map([["k", s.byKey.get("k")!]]), new Set([s.items[0]!]), { deep: [s.byKey] }];
    },
    fn(s) {
      s.n += 100;
      return () => s.n;
    },
    instance(s) {
      s.n += 100;
      return { p: new Point(1, 2) };
    },
    add(s, by: number) {
      s.n += by;
      return s.n;
    },
  },
  queries: { n: (s) => s.n },
});

let index = 0;
function entry(name: string, arg?: unknown): Entry {
  // One session per command: each test starts from a fresh machine.
  const payload: CommandPayload = { name, arg, session: `caller-${++index}`, seq: 1, lowest: 1, at: index };
  return { index, term: 1, type: "normal", data: encodeValue(payload, "a test command") };
}

/** True if any value reachable from `v` is an immer draft (a revoked one throws on access). */
function holdsDraft(v: unknown, seen = new Set<unknown>()): boolean {
  if (isDraft(v)) return true;
  if (typeof v !== "object" || v === null || seen.has(v)) return false;
  seen.add(v);
  if (v instanceof Map) return [...v].some(([k, x]) => holdsDraft(k, seen) || holdsDraft(x, seen));
  if (v instanceof Set) return [...v].some((x) => holdsDraft(x, seen));
  return Object.values(v).some((x) => holdsDraft(x, seen));
}

describe("a command's result", () => {
  it("is detached from the draft, however deep the draft sits, and snapshots keep working", () => {
    const m = new ReplicatedMachine(shelf, 60_000);
    const [first, nested] = m.applyNow([entry("first"), entry("nested")]);
    expect(first!.result).toEqual({ ok: true, value: { item: { v: 1, tags: new Set(["a"]) } } });
    expect(holdsDraft(first!.result)).toBe(false);
    expect(nested!.result.ok).toBe(true);
    expect(holdsDraft(nested!.result)).toBe(false);
    expect(nested!.result).toEqual({
      ok: true,
      value: [
        { v: 2, tags: new Set(["a"]) },
        new Map([["k", { v: 2 }]]),
        new Set([{ v: 2, tags: new Set(["a"]) }]),
        { deep: [new Map([["k", { v: 2 }]])] },
      ],
    });
    const copy = new ReplicatedMachine(shelf, 60_000);
    copy.restoreNow(m.snapshotNow());
    expect(copy.state).toEqual(m.state);
    expect(new TextDecoder().decode(copy.snapshotNow())).toBe(new TextDecoder().decode(m.snapshotNow()));
  });

  it("that cannot be encoded fails that command with NOT_SERIALIZABLE, changes nothing, and the next commands and snapshots work", () => {
    const m = new ReplicatedMachine(shelf, 60_000);
    const outcomes = m.applyNow([entry("add", 1), entry("fn"), entry("instance"), entry("add", 2)]);
    expect(outcomes.map((o) => o.result.ok)).toEqual([true, false, false, true]);
    for (const o of outcomes.slice(1, 3)) {
      expect(o.result).toMatchObject({ ok: false, code: "NOT_SERIALIZABLE" });
      expect((o.result as { message: string }).message).toMatch(/NOT_SERIALIZABLE/);
    }
    expect((m.state as { n: number }).n).toBe(3);
    expect(m.applyNow([entry("fn")])[0]!.result.ok).toBe(false);
    expect(m.applyNow([entry("add", 4)])[0]!.result).toEqual({ ok: true, value: 7 });
    const copy = new ReplicatedMachine(shelf, 60_000);
    copy.restoreNow(m.snapshotNow());
    expect((copy.state as { n: number }).n).toBe(7);
  });
});

describe("command results on a cluster", () => {
  beforeEach(useFakeTime);
  afterEach(() => {
    vi.useRealTimers();
  });

  it("the caller gets plain values, or a CommandError for a result that cannot be stored; nodes keep snapshotting", async () => {
    const c = new LocalCluster(shelf);
    await c.startAll();
    await c.until(() => c.leader() !== undefined);
    const leader = c.leader()!;
    expect(await c.settle(leader.commands.first())).toEqual({ item: { v: 1, tags: new Set(["a"]) } });
    await expect(c.settle(leader.commands.fn())).rejects.toMatchObject({
      name: "CommandError",
      message: expect.stringMatching(/NOT_SERIALIZABLE/),
    });
    // Past snapshotEntries (40): every node snapshots a session table holding these results.
    for (let i = 0; i < 50; i++) await c.settle(leader.commands.first());
    await c.until(() => [...c.storages.values()].every((s) => s.snapshot().meta.index > 0));
    expect(await c.settle(leader.query.n())).toBe(51);
    await c.stopAll();
  });
});
