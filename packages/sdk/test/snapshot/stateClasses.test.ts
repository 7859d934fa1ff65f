import { systemClock } from "@raftkit/core";
import { immerable } from "immer";
import superjson from "superjson";
import { describe, expect, it } from "vitest";
import { decodeValue, encodeValue } from "../../src/codec.js";
import { drafts } from "../../src/drafts.js";
import { DecodeError } from "../../src/errors.js";
import { isPlainJson, stringifyValue } from "../../src/plainJson.js";
import { decodeSliced } from "../../src/snapshot/slicedDecode.js";
import { Slicer } from "../../src/snapshot/slicer.js";
import { encodeInSlices, freezeInSlices, hashInSlices } from "../../src/snapshot/snapshotCodec.js";
import { registerStateClass } from "../../src/snapshot/stateClasses.js";
import { superjsonIsPristine } from "../../src/snapshot/superjsonRules.js";
import { stateHash } from "../../src/stateHash.js";
import { decodeBody } from "../../src/wire.js";
import { TestTree } from "./stateClassFixture.js";
import { sameGraph } from "./values.js";

const tiny = () => new Slicer(systemClock, 7);
const joined = (pieces: Uint8Array[]): Buffer => Buffer.concat(pieces);
const superjsonBytes = (v: unknown): Buffer => Buffer.from(superjson.stringify(v));

/**
 * Encodes in slices (superjson's bytes, no fallback), decodes in slices and with decodeValue:
 * the same graph as `value` (prototypes and shared references included), which encodes again
 * to the same bytes, so a restored replica hashes as the others do.
 */
async function roundTripsFaithfully(value: unknown): Promise<void> {
  const fallbacks: string[] = [];
  const bytes = joined(await encodeInSlices(value, tiny(), "t", (r) => fallbacks.push(r)));
  expect(bytes.toString()).toBe(superjsonBytes(value).toString());
  expect(await hashInSlices(value, tiny(), "t")).toBe(stateHash(bytes));
  const decoded = await decodeSliced(bytes, tiny(), "t", (r) => fallbacks.push(r));
  expect(fallbacks).toEqual([]);
  expect(sameGraph(decoded, value)).toBe(true);
  expect(sameGraph(decodeValue(bytes, "t"), value)).toBe(true);
  expect(Buffer.from(encodeValue(decoded, "t")).equals(bytes)).toBe(true);
}

const when = new Date(86_400_000);
const shared = { s: 1, at: when };
const tree = (entries: [string, unknown][]) => new TestTree(entries);

describe("raftkit's state classes in the sliced snapshot codec", () => {
  it("keeps superjson's default instance pristine: raftkit's own registrations do not send snapshots to superjson", () => {
    expect(superjsonIsPristine()).toBe(true);
  });

  it.each([
    [
      "an instance at the root, with Dates, undefined, BigInts, Maps and Sets inside",
      tree([
        ["a", 1],
        ["b", when],
        ["c", undefined],
        ["d", 5n],
        ["e", new Map([["k", new Set([1, -0])]])],
      ]),
    ],
    ["an instance in a Map", { m: new Map<unknown, unknown>([["x", tree([["k", Number.NaN]])]]) }],
    ["instances in an array, one empty", { a: [tree([]), tree([["z", [undefined]]])] }],
    ["a branch node (children)", { t: tree(["a", "b", "c", "d", "e", "f", "g"].map((k) => [k, { k }])) }],
    ["an instance inside an instance", { t: tree([["inner", tree([["d", new Date(1)]])]]) }],
    [
      "keys with dots and backslashes inside",
      {
        "a.b": tree([
          ["x.y", undefined],
          ["\\.", when],
        ]),
      },
    ],
    [
      "an instance reached three times",
      ((t) => ({ a: t, b: [t], m: new Map([["k", t]]) }))(tree([["a", when]])),
    ],
    [
      "a value shared inside an instance and outside it",
      {
        s: shared,
        t: tree([
          ["a", shared],
          ["b", shared],
          ["c", { d: when }],
        ]),
        when,
      },
    ],
    [
      "values shared between two instances",
      { t: tree([["a", shared]]), u: new Map([["k", tree([["b", shared]])]]) },
    ],
  ])("round-trips %s with superjson's bytes, and the same graph back", async (_name, value) => {
    await roundTripsFaithfully(value);
  });

  it("decodes what superjson.parse decodes, but keeps values shared inside an instance shared (superjson copies them)", () => {
    const value = { s: shared, t: tree([["a", shared]]) };
    const bytes = superjsonBytes(value);
    const bySuperjson = superjson.parse<typeof value>(bytes.toString());
    expect(bySuperjson.t).toBeInstanceOf(TestTree);
    // superjson's own result holds a copy, so it encodes differently: a replica restored from it would hash differently.
    expect(bySuperjson.t.get("a")).not.toBe(bySuperjson.s);
    expect(superjsonBytes(bySuperjson).equals(bytes)).toBe(false);
    const ours = decodeValue<typeof value>(bytes, "t");
    expect(ours.t.get("a")).toBe(ours.s);
    // The wire (createClient's answers) decodes alike.
    const fromWire = decodeBody<typeof value>(bytes.toString());
    expect(fromWire.t).toBeInstanceOf(TestTree);
    expect(fromWire.t.get("a")).toBe(fromWire.s);
  });

  it("still leaves an instance of a class it does not know to superjson, which refuses it", async () => {
    class Other {
      x = 1;
    }
    const reasons: string[] = [];
    await expect(
      encodeInSlices({ t: tree([["a", new Other()]]) }, tiny(), "the state", (r) => reasons.push(r)),
    ).rejects.toBeInstanceOf(DecodeError);
    expect(reasons).toEqual(["a Other"]);
  });

  it("is not plain JSON (it needs its annotation), and is written as superjson writes it", () => {
    const t = tree([["a", 1]]);
    expect(isPlainJson(t)).toBe(false);
    expect(isPlainJson({ t })).toBe(false);
    expect(stringifyValue({ t })).toBe(superjson.stringify({ t }));
  });

  it("freezes an instance as immer does, and immer drafts it, copying only the path a change touches", async () => {
    const decoded = await decodeSliced<{ t: TestTree }>(
      superjsonBytes({ t: tree(["a", "b", "c", "d", "e"].map((k) => [k, { k }])) }),
      tiny(),
      "t",
    );
    await freezeInSlices(decoded, tiny());
    const root = decoded.t.root as { children: { values: unknown[] }[] };
    for (const v of [decoded.t, root, root.children[1]!, root.children[1]!.values[0]])
      expect(Object.isFrozen(v)).toBe(true);
    const next = drafts.produce(decoded, (d) => {
      d.t.replace("e", { k: "E" });
    });
    expect(next.t).toBeInstanceOf(TestTree);
    expect(next.t.get("e")).toEqual({ k: "E" });
    expect(decoded.t.get("e")).toEqual({ k: "e" });
    const nextRoot = next.t.root as typeof root;
    expect(nextRoot.children[0]).toBe(root.children[0]);
    expect(nextRoot.children[1]).not.toBe(root.children[1]);
  });
});

describe("registerStateClass", () => {
  it("registers a class once, and refuses clashes and classes superjson or immer could not handle as state", () => {
    registerStateClass(TestTree, "raftkit.test.TestTree");
    expect(() => registerStateClass(TestTree, "raftkit.test.Other")).toThrow(
      /TestTree is already registered as "raftkit.test.TestTree"/,
    );
    class Clash {
      static [immerable] = true;
      x = 1;
    }
    expect(() => registerStateClass(Clash, "raftkit.test.TestTree")).toThrow(/already names another class/);
    class PerInstance {
      [immerable] = true;
    }
    expect(() => registerStateClass(PerInstance, "raftkit.test.PerInstance")).toThrow(
      /must be draftable by immer without running its constructor/,
    );
    class Derived extends TestTree {}
    expect(() => registerStateClass(Derived, "raftkit.test.Derived")).toThrow(/must extend nothing/);
    expect(() => registerStateClass(Map, "raftkit.test.Map")).toThrow(/built in/);
    expect(superjsonIsPristine()).toBe(true);
  });
});

interface Registry {
  kv: { keyToValue: Map<unknown, unknown>; valueToKey: Map<unknown, unknown> };
}
interface SuperjsonInternals {
  classRegistry: Registry & { classToAllowedProps: Map<unknown, unknown> };
  symbolRegistry: Registry;
  customTransformerRegistry: { transfomers: Record<string, unknown> };
}

/** Runs `check` after `register` changed superjson's default instance, then undoes the change (NB: superjson 2's fields). */
async function withUserRegistration(register: () => void, check: () => Promise<void>): Promise<void> {
  const d = (superjson as unknown as { defaultInstance: SuperjsonInternals }).defaultInstance;
  const maps = [
    d.classRegistry.kv.keyToValue,
    d.classRegistry.kv.valueToKey,
    d.classRegistry.classToAllowedProps,
    d.symbolRegistry.kv.keyToValue,
    d.symbolRegistry.kv.valueToKey,
  ];
  const saved = maps.map((m) => new Map(m));
  const custom = { ...d.customTransformerRegistry.transfomers };
  try {
    register();
    await check();
  } finally {
    maps.forEach((m, i) => {
      m.clear();
      for (const [k, v] of saved[i]!) m.set(k, v);
    });
    d.customTransformerRegistry.transfomers = custom;
  }
  expect(superjsonIsPristine()).toBe(true);
}

describe("a user's own superjson registrations", () => {
  class Money {
    cents = 5;
  }
  const state = { t: tree([["a", when]]), plain: { x: 1 } };

  it("send snapshots to superjson, which still writes and reads the state classes", async () => {
    await withUserRegistration(
      () => superjson.registerClass(Money),
      async () => {
        expect(superjsonIsPristine()).toBe(false);
        const reasons: string[] = [];
        const bytes = joined(await encodeInSlices(state, tiny(), "t", (r) => reasons.push(r)));
        expect(bytes.equals(superjsonBytes(state))).toBe(true);
        const decoded = await decodeSliced(bytes, tiny(), "t", (r) => reasons.push(r));
        expect(sameGraph(decoded, state)).toBe(true);
        expect(reasons).toEqual([
          "superjson has registered classes, symbols or transformers of its user",
          "superjson has registered classes, symbols or transformers of its user",
        ]);
      },
    );
  });

  it.each<[string, () => void]>([
    ["allowed props on a state class", () => superjson.registerClass(TestTree, { allowProps: ["count"] })],
    [
      "another class under a state class's identifier",
      () => superjson.registerClass(Money, "raftkit.test.TestTree"),
    ],
    ["a symbol", () => superjson.registerSymbol(Symbol("s"), "s")],
    [
      "a custom transformer",
      () =>
        superjson.registerCustom<Money, number>(
          {
            isApplicable: (v) => v instanceof Money,
            serialize: (v) => v.cents,
            deserialize: () => new Money(),
          },
          "money",
        ),
    ],
  ])("count as the user's: %s", async (_name, register) => {
    await withUserRegistration(register, async () => {
      expect(superjsonIsPristine()).toBe(false);
    });
  });
});
