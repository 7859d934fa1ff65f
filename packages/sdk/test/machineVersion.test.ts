import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { encodeValue } from "../src/codec.js";
import { PUBLISH, SET_MACHINE_VERSION } from "../src/commandLog.js";
import { defineMachine } from "../src/defineMachine.js";
import { CommandError } from "../src/errors.js";
import {
  CommandNotAvailableError,
  MachineTooOldError,
  UpgradeRefusedError,
} from "../src/machineVersionErrors.js";
import { ReplicatedMachine } from "../src/replicatedMachine.js";
import type { AnyMachine } from "../src/types.js";
import { LocalCluster, useFakeTime } from "./localCluster.js";

/** Version 1: a counter of items. */
const v1 = defineMachine({
  initial: () => ({ n: 0, items: [] as string[] }),
  commands: {
    add(s, item: string, ctx) {
      s.items.push(item);
      s.n += 1;
      return ctx.version;
    },
  },
  queries: { n: (s) => s.n, items: (s) => s.items },
});

type V2State = { n: number; items: string[]; tags?: Record<string, string[]> };
/** Version 2 code: supports 1 and 2; `add` also tags at version 2; `tag` is new in 2. */
const v2 = defineMachine({
  version: 2,
  initial: (): V2State => ({ n: 0, items: [] }),
  migrate(s, from) {
    if (from === 1) s.tags = Object.fromEntries(s.items.map((i) => [i, ["migrated"]]));
  },
  commands: {
    add(s, item: string, ctx) {
      s.items.push(item);
      s.n += 1;
      if (ctx.version >= 2) s.tags![item] = ["new"];
      return ctx.version;
    },
    tag: {
      since: 2,
      run(s, a: { item: string; tag: string }) {
        s.tags![a.item] = [...(s.tags![a.item] ?? []), a.tag];
        return s.tags![a.item]!.length;
      },
    },
  },
  queries: { n: (s) => s.n, tags: (s) => s.tags ?? null },
});

/** The same version 2, whose migration throws. */
const v2Broken = defineMachine({
  version: 2,
  initial: (): V2State => ({ n: 0, items: [] }),
  migrate() {
    throw new RangeError("cannot migrate");
  },
  commands: v2.commands,
  queries: v2.queries,
});

type AnyNode = ReturnType<LocalCluster<AnyMachine>["node"]>;
/** A node typed as the version-2 code's (version-1 nodes have a subset of its commands). */
const at = (c: LocalCluster<AnyMachine>, id: string) =>
  c.node(id) as unknown as ReturnType<LocalCluster<typeof v2>["node"]>;
const publish = (n: AnyNode) =>
  n.runner.system(PUBLISH, { id: n.id, incarnation: "test", supports: n.status().supportsMachineVersion });

/** A 3-node cluster where each node runs the machine `code[id]` gives, all published. */
async function cluster(code: Record<string, AnyMachine>): Promise<LocalCluster<AnyMachine>> {
  const c = new LocalCluster<AnyMachine>(
    v1 as AnyMachine,
    ["a", "b", "c"],
    {},
    { machine: (id) => code[id] },
  );
  await c.startAll();
  await c.until(() => c.leader() !== undefined);
  for (const n of c.nodes.values()) await c.settle(publish(n));
  await c.until(() => [...c.machines.values()].every((m) => Object.keys(m.publishedMembers()).length === 3));
  return c;
}

beforeEach(useFakeTime);
afterEach(() => {
  vi.useRealTimers();
});

describe("defineMachine({ version, migrate, since })", () => {
  it("defaults to version 1 and refuses a since above the version or a bad version", () => {
    expect(v1.version).toBe(1);
    expect(v2.version).toBe(2);
    expect(() => defineMachine({ version: 0, initial: () => ({}), commands: {} })).toThrow(/integer ≥ 1/);
    expect(() =>
      defineMachine({ version: 2, initial: () => ({}), commands: { x: { since: 3, run: () => {} } } }),
    ).toThrow(/since version 3, above the machine's version 2/);
  });
});

describe("rolling out code that supports a newer version", () => {
  it("keeps applying at the log's version: ctx.version stays 1 on new code, new commands are refused", async () => {
    const c = await cluster({ a: v2, b: v2, c: v1 });
    const a = at(c, "a");
    expect(await c.settle(a.commands.add("x"))).toBe(1);
    expect(a.status()).toMatchObject({ machineVersion: 1, supportsMachineVersion: 2 });
    const refused = await c.settle(a.commands.tag({ item: "x", tag: "t" })).catch((e) => e);
    expect(refused).toBeInstanceOf(CommandNotAvailableError);
    expect(refused).toMatchObject({ code: "COMMAND_NOT_AVAILABLE", since: 2, version: 1 });
    // Every node holds the same state: nothing was proposed.
    await c.until(() => [...c.machines.values()].every((m) => (m.state as V2State).n === 1));
    for (const m of c.machines.values()) expect((m.state as V2State).tags).toBeUndefined();
    await c.stopAll();
  });

  it("applies a newer command proposed at the older version as unknown, identically on old and new code", async () => {
    const c = await cluster({ a: v2, b: v2, c: v1 });
    // Proposed past the node's check, as a node of other code could: the same outcome everywhere.
    const payload = encodeValue(
      { name: "tag", arg: { item: "x", tag: "t" }, session: "s-1", seq: 1, lowest: 1, at: 0 },
      "test",
    );
    const { index, result } = await c.settle(c.node("a").raft.propose(payload));
    expect(result).toMatchObject({ result: { ok: false, name: "UnknownOperationError" } });
    await c.until(() => [...c.nodes.values()].every((n) => n.status().applied >= index));
    expectSameSnapshots(c);
    await c.stopAll();
  });
});

/** Every node's state, sessions (with each command's result), members and version are byte-equal. */
function expectSameSnapshots(c: LocalCluster<AnyMachine>): void {
  const [first, ...rest] = [...c.machines.values()].map((m) => Buffer.from(m.snapshotNow()).toString("hex"));
  for (const s of rest) expect(s).toBe(first);
}

describe("cluster.upgradeMachine()", () => {
  it("refuses a version a member does not report, and does nothing when all support only the current one", async () => {
    const c = await cluster({ a: v2, b: v2, c: v1 });
    const a = at(c, "a");
    expect(await c.settle(a.cluster.upgradeMachine())).toEqual({ from: 1, to: 1 });
    const refused = await c.settle(a.cluster.upgradeMachine(2)).catch((e) => e);
    expect(refused).toBeInstanceOf(UpgradeRefusedError);
    expect(refused.lacking).toEqual({ c: 1 });
    expect(refused.message).toMatch(/c \(supports up to 1\)/);
    for (const m of c.machines.values()) expect(m.version).toBe(1);
    await c.stopAll();
  });

  it("switches every node at one index: migrate upcasts the state, later entries see ctx.version 2", async () => {
    const c = await cluster({ a: v2, b: v2, c: v2 });
    const a = at(c, "a");
    expect(await c.settle(a.commands.add("x"))).toBe(1);
    expect(await c.settle(c.node("b").cluster.upgradeMachine())).toEqual({ from: 1, to: 2 });
    await c.until(() => [...c.machines.values()].every((m) => m.version === 2));
    expect(await c.settle(a.commands.add("y"))).toBe(2);
    expect(await c.settle(a.commands.tag({ item: "x", tag: "t" }))).toBe(2);
    await c.until(() => [...c.nodes.values()].every((n) => n.status().applied === a.status().applied));
    for (const m of c.machines.values())
      expect((m.state as V2State).tags).toEqual({ x: ["migrated", "t"], y: ["new"] });
    for (const n of c.nodes.values()) expect(n.status().machineVersion).toBe(2);
    expectSameSnapshots(c);
    // Idempotent: a second call finds nothing to do.
    expect(await c.settle(a.cluster.upgradeMachine())).toEqual({ from: 2, to: 2 });
    await c.stopAll();
  });

  it("fails identically everywhere when migrate throws, and leaves the version unchanged", async () => {
    const c = await cluster({ a: v2Broken, b: v2Broken, c: v2Broken });
    const a = at(c, "a");
    await c.settle(a.commands.add("x"));
    const failed = await c.settle(a.cluster.upgradeMachine()).catch((e) => e);
    expect(failed).toBeInstanceOf(CommandError);
    expect(failed).toMatchObject({ code: "MIGRATION_FAILED", errorName: "RangeError" });
    expect(failed.message).toMatch(/migrate\(state, 1\) failed: cannot migrate/);
    expect(await c.settle(a.commands.add("y"))).toBe(1);
    await c.until(() => [...c.nodes.values()].every((n) => n.status().applied === a.status().applied));
    for (const m of c.machines.values()) expect(m.version).toBe(1);
    expectSameSnapshots(c);
    await c.stopAll();
  });
});

describe("code too old for the log's version", () => {
  it("stops a node that applies a switch above what its code supports, naming both versions", async () => {
    const code: Record<string, AnyMachine> = { a: v2, b: v2, c: v2 };
    const c = await cluster(code);
    await c.settle(c.node("a").cluster.upgradeMachine());
    await c.until(() => [...c.machines.values()].every((m) => m.version === 2));
    // c is rolled back to version-1 code: replaying its log reaches the switch.
    await c.settle(c.node("c").stop());
    code.c = v1;
    const old = await c.start("c");
    await c.until(() => old.status().stopped);
    expect(old.status().stoppedReason).toMatch(
      /the log is at machine version 2 \(a version switch at index \d+\), but this node's code supports machine versions up to 1/,
    );
    expect(c.machines.get("c")!.version).toBe(1);
    // The others go on.
    expect(await c.settle(at(c, "a").commands.add("z"))).toBe(2);
    await c.stopAll();
  });
});

describe("snapshots carry the machine version", () => {
  it("restores the version, reads a snapshot without one as version 1, and refuses one above the code's", () => {
    const newer = new ReplicatedMachine(v2, 60_000);
    newer.apply([entry(1, SET_MACHINE_VERSION, { to: 2 })]);
    expect(newer.version).toBe(2);
    const restored = new ReplicatedMachine(v2, 60_000);
    restored.restoreNow(newer.snapshotNow());
    expect(restored.version).toBe(2);
    expect((restored.state as V2State).tags).toEqual({});

    const legacy = encodeValue(
      { state: { n: 3, items: ["a", "b", "c"] }, sessions: [], lastTime: 0, members: [] },
      "t",
    );
    const fromLegacy = new ReplicatedMachine(v2, 60_000);
    fromLegacy.restoreNow(legacy);
    expect(fromLegacy.version).toBe(1);

    const tooOld = new ReplicatedMachine(v1, 60_000);
    const err = (() => {
      try {
        tooOld.restoreNow(newer.snapshotNow());
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MachineTooOldError);
    expect(err).toMatchObject({ code: "MACHINE_TOO_OLD", needed: 2, supported: 1 });
    expect(tooOld.state).toEqual({ n: 0, items: [] });
  });
});

function entry(index: number, name: string, arg: unknown) {
  return {
    index,
    term: 1,
    type: "normal" as const,
    data: encodeValue({ name, arg, session: "s", seq: index, lowest: 1, at: 0 }, "t"),
  };
}
