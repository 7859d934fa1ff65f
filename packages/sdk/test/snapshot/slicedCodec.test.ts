import { systemClock } from "@raftkit/core";
import superjson from "superjson";
import { describe, expect, it } from "vitest";
import { decodeValue, encodeValue } from "../../src/codec.js";
import { DecodeError } from "../../src/errors.js";
import { decodeSliced } from "../../src/snapshot/slicedDecode.js";
import { Slicer } from "../../src/snapshot/slicer.js";
import { encodeInSlices, hashInSlices } from "../../src/snapshot/snapshotCodec.js";
import { superjsonIsPristine } from "../../src/snapshot/superjsonRules.js";
import { stateHash } from "../../src/stateHash.js";
import { bigState, randomValue, sameGraph } from "./values.js";

/** A slicer that ends a slice every `units` units: many turns even for a small value. */
const tiny = (units = 7) => new Slicer(systemClock, units);
const joined = (pieces: Uint8Array[]): Buffer => Buffer.concat(pieces);
const superjsonBytes = (v: unknown): Buffer => Buffer.from(encodeValue(v, "t"));

/**
 * Encodes in slices and decodes in slices; expects superjson's bytes, and superjson's value
 * back: the value decodeValue gives, which is superjson.parse's but for values shared inside a
 * state class's instance (stateClasses.test.ts), and is superjson.parse's where there is none.
 */
async function roundTrip(value: unknown): Promise<void> {
  const fallbacks: string[] = [];
  const bytes = joined(await encodeInSlices(value, tiny(), "t", (r) => fallbacks.push(r)));
  expect(fallbacks).toEqual([]);
  expect(bytes.toString()).toBe(superjsonBytes(value).toString());
  if (superjsonFails(bytes)) {
    // superjson cannot read some of what it writes (a shared Map key moved before a path through it is followed): neither can we.
    await expect(decodeSliced(bytes, tiny(), "t")).rejects.toBeInstanceOf(DecodeError);
    return;
  }
  const decoded = await decodeSliced(bytes, tiny(), "t", (r) => fallbacks.push(r));
  expect(fallbacks).toEqual([]);
  // The same value, shared references included.
  expect(sameGraph(decoded, decodeValue(bytes, "t"))).toBe(true);
  if (!bytes.includes('["class","raftkit.test.TestTree"]'))
    expect(sameGraph(decoded, superjson.parse(bytes.toString()))).toBe(true);
}

const superjsonFails = (bytes: Buffer): boolean => {
  try {
    superjson.parse(bytes.toString());
    return false;
  } catch {
    return true;
  }
};

const shared = { x: 1 };
const when = new Date(86_400_000);

describe("the sliced snapshot codec", () => {
  it("finds superjson's default instance as it expects it (nothing registered): else every value goes to superjson", () => {
    expect(superjsonIsPristine()).toBe(true);
  });

  it.each([
    [
      "Map",
      {
        m: new Map<unknown, unknown>([
          ["a", 1],
          [2, "b"],
          [{ k: 1 }, [3]],
        ]),
      },
    ],
    ["Set", { s: new Set<unknown>([1, "a", [2], { x: 3 }]) }],
    ["Date", { d: new Date(0), later: [new Date(1_700_000_000_123)] }],
    ["BigInt", { b: 12345678901234567890n, neg: [-1n, 0n] }],
    ["undefined", { u: undefined, inArray: [undefined, 1], inMap: new Map([["k", undefined]]) }],
    [
      "non-finite numbers and -0",
      { n: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 1.5e300] },
    ],
    ["nested", { a: { b: { c: [new Map([["d", new Set([new Date(5), { e: 1n }])]])] } } }],
    ["empty containers", { o: {}, a: [], m: new Map(), s: new Set() }],
    ["keys with dots and backslashes", { "a.b": { "c\\d": undefined, "e\\.f": new Date(2) } }],
    ["integer-like keys", { "10": 1n, "2": undefined, b: new Date(3), "0": [undefined] }],
    ["strings that need escapes", { s: 'quote " backslash \\ newline \n tab \t é ☃ 🎉 \u0001 \ud800' }],
    [
      "shared references (superjson's referential equalities)",
      { a: shared, b: [shared, shared], m: new Map([["k", shared]]), s: new Set([when]), d: when },
    ],
    [
      "equal BigInts and NaNs (superjson tracks them as shared values)",
      { a: 5n, b: [5n], c: Number.NaN, d: Number.NaN },
    ],
    ["a Map as the root", new Map([["k", new Date(4)]])],
    ["a scalar as the root", undefined],
  ])("round-trips %s with superjson's bytes and value", async (_name, value) => {
    await roundTrip(value);
  });

  it("round-trips random values with superjson's bytes and value (seeded)", async () => {
    for (let seed = 1; seed <= 300; seed++) await roundTrip(randomValue(seed));
  });

  it("round-trips a large state (3 MB) with superjson's bytes", async () => {
    const state = bigState(3);
    const bytes = joined(await encodeInSlices(state, new Slicer(systemClock), "t"));
    expect(bytes.equals(superjsonBytes(state))).toBe(true);
    const decoded = await decodeSliced<typeof state>(bytes, new Slicer(systemClock), "t");
    expect(sameGraph(decoded, state)).toBe(true);
  });

  it("hashes to stateHash of superjson's bytes (what older nodes report for the same state)", async () => {
    const state = bigState(0.2);
    expect(await hashInSlices(state, tiny(500), "t")).toBe(stateHash(superjsonBytes(state)));
  });

  it("leaves what it does not encode itself to superjson, with superjson's bytes or errors", async () => {
    const reasons: string[] = [];
    for (const ok of [{ r: /a.b/gi }, { e: new Error("boom") }, { u: new URL("http://x.example/") }]) {
      const bytes = joined(await encodeInSlices(ok, tiny(), "t", (r) => reasons.push(r)));
      expect(bytes.equals(superjsonBytes(ok))).toBe(true);
      expect(await decodeSliced(bytes, tiny(), "t")).toEqual(superjson.parse(bytes.toString()));
    }
    expect(reasons).toHaveLength(3);
    for (const bad of [
      { f: () => 1 },
      { c: new (class Thing {})() },
      { y: Symbol("s") },
      { t: new Uint8Array(2) },
    ]) {
      await expect(encodeInSlices(bad, tiny(), "the state")).rejects.toBeInstanceOf(DecodeError);
    }
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(joined(await encodeInSlices(cyclic, tiny(), "t")).equals(superjsonBytes(cyclic))).toBe(true);
  });

  it("decodes what older superjson versions wrote (no format version) and refuses what is not superjson", async () => {
    // superjson 1 wrote unescaped paths and no "v".
    const legacy = Buffer.from(
      '{"json":{"a.b":{"d":"1970-01-01T00:00:00.000Z"}},"meta":{"values":{"a.b.d":["Date"]}}}',
    );
    const reasons: string[] = [];
    const decoded = await decodeSliced(legacy, tiny(), "t", (r) => reasons.push(r));
    expect(decoded).toEqual(superjson.parse(legacy.toString()));
    expect(reasons).toHaveLength(1);
    await expect(decodeSliced(Buffer.from('{"json":[1,2'), tiny(), "a snapshot")).rejects.toBeInstanceOf(
      DecodeError,
    );
    await expect(decodeSliced(Buffer.from("not json"), tiny(), "a snapshot")).rejects.toThrow(/a snapshot/);
  });

  it("keeps the event loop turning while it encodes and decodes 12 MB (a timer keeps firing)", async () => {
    const state = bigState(12);
    let fired = 0;
    const timer = setInterval(() => fired++, 1);
    try {
      const pieces = await encodeInSlices(state, new Slicer(systemClock), "t");
      const duringEncode = fired;
      await decodeSliced(joined(pieces), new Slicer(systemClock), "t");
      const duringDecode = fired - duringEncode;
      // Encoding at once lets it fire at most once; in slices it fires between them.
      expect(duringEncode).toBeGreaterThanOrEqual(5);
      expect(duringDecode).toBeGreaterThanOrEqual(5);
    } finally {
      clearInterval(timer);
    }
  }, 60_000);
});
