import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "../../src/createClient.js";
import { defineMachine } from "../../src/defineMachine.js";
import { ReplicatedMachine } from "../../src/replicatedMachine.js";
import { closeAppServers, serveCluster } from "../appServers.js";
import { commandEntries } from "../commandEntries.js";
import { LocalCluster, waitFor } from "../localCluster.js";
import { TestTree } from "./stateClassFixture.js";

/** A machine whose state holds instances of a state class, as one holding SortedMaps does. */
const orchard = defineMachine({
  initial: () => ({
    trees: new Map<string, TestTree>(),
    main: new TestTree([["a", { n: 1 }]]),
    last: null as unknown,
  }),
  commands: {
    plant(s, name: string) {
      s.trees.set(
        name,
        new TestTree([
          ["at", new Date(name.length)],
          ["gone", undefined],
        ]),
      );
    },
    plantFunction(s, name: string) {
      s.trees.set(name, new TestTree([["x", { callback: () => 1 }]]));
    },
    setFunction(s) {
      s.main.replace("a", () => 0);
    },
    /** One new object in two places, one inside the instance: shared in the state. */
    share(s, n: number) {
      const o = { n };
      s.last = o;
      s.main.replace("a", o);
    },
    /** A result that holds a draft of the state, inside an instance. */
    pick(s) {
      return new TestTree([["root", s.main.root]]);
    },
  },
  queries: { main: (s) => s.main, tree: (s, name: string) => s.trees.get(name) ?? null },
});

const entry = commandEntries();

const joined = (pieces: Uint8Array[]): Buffer => Buffer.concat(pieces);
type OrchardState = ReturnType<typeof orchard.initial>;

describe("a machine whose state holds state classes' instances", () => {
  it("accepts them in the initial state and from reducers, and refuses a function inside one, naming its path", () => {
    const m = new ReplicatedMachine(orchard, 60_000);
    const [planted, badPlant, badSet] = m.applyNow([
      entry("plant", "t1"),
      entry("plantFunction", "t2"),
      entry("setFunction"),
    ]);
    expect(planted!.result).toEqual({ ok: true, value: undefined });
    expect(badPlant!.result).toMatchObject({ ok: false, code: "NOT_SERIALIZABLE" });
    expect(badPlant!.result.ok || badPlant!.result.message).toMatch(
      /command "plantFunction" put a function into the state at trees\.t2\.root\.values\.0\.callback/,
    );
    expect(badSet!.result.ok || badSet!.result.message).toMatch(
      /command "setFunction" put a function into the state at main\.root\.values\.0/,
    );
    const state = m.state as OrchardState;
    expect(state.trees.get("t1")).toBeInstanceOf(TestTree);
    expect(state.trees.has("t2")).toBe(false);
    expect(state.main.get("a")).toEqual({ n: 1 });
  });

  it("keeps a result that holds a draft inside an instance readable after the command", () => {
    const m = new ReplicatedMachine(orchard, 60_000);
    const [picked] = m.applyNow([entry("pick")]);
    expect(picked!.result.ok).toBe(true);
    const tree = (picked!.result as { value: TestTree }).value;
    expect(tree).toBeInstanceOf(TestTree);
    expect((tree.get("root") as { keys: string[] }).keys).toEqual(["a"]);
  });

  it("restores from a snapshot (in slices) the same state: frozen instances, shared values, the same hash; reducers go on", async () => {
    const m = new ReplicatedMachine(orchard, 60_000);
    m.applyNow([entry("plant", "t1"), entry("share", 7)]);
    const bytes = joined(await m.snapshot());
    expect(bytes.equals(Buffer.from(m.snapshotNow()))).toBe(true);
    const restored = new ReplicatedMachine(orchard, 60_000);
    await restored.restore(bytes);
    const state = restored.state as OrchardState;
    expect(state.main).toBeInstanceOf(TestTree);
    expect(state.trees.get("t1")!.get("at")).toEqual(new Date(2));
    expect(Object.isFrozen(state.main.root)).toBe(true);
    expect(state.main.get("a")).toBe(state.last);
    // Equal hashes at the next state check: the restored replica encodes as the original does.
    expect(Buffer.from(restored.snapshotNow()).equals(bytes)).toBe(true);
    const next = entry("share", 8);
    m.applyNow([next]);
    restored.applyNow([next]);
    expect((restored.state as OrchardState).main.get("a")).toEqual({ n: 8 });
    expect(state.main.get("a")).toEqual({ n: 7 });
    expect(Buffer.from(restored.snapshotNow()).equals(Buffer.from(m.snapshotNow()))).toBe(true);
  });
});

describe("createClient", () => {
  let cluster: LocalCluster<typeof orchard> | null = null;
  afterEach(async () => {
    await closeAppServers();
    await cluster?.stopAll();
    cluster = null;
  });

  it("decodes state classes' instances in answers, with their prototype", async () => {
    const c = new LocalCluster(orchard);
    cluster = c;
    await c.startAll();
    const endpoints = await serveCluster(c, { secret: "s" });
    await waitFor(() => (c.leader()?.status().applied ?? 0) >= c.ids.length + 1);
    const client = createClient<typeof orchard>({ endpoints, secret: "s" });
    await client.commands.plant("t1");
    const tree = await client.query.tree("t1");
    expect(tree).toBeInstanceOf(TestTree);
    expect(tree!.get("at")).toEqual(new Date(2));
    expect((await client.query.main()).get("a")).toEqual({ n: 1 });
  });
});
