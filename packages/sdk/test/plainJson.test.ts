import superjson from "superjson";
import { describe, expect, it } from "vitest";
import { decodeValue, encodeValue } from "../src/codec.js";
import { isPlainJson, plainJsonText, stringifyValue } from "../src/plainJson.js";

const shared = { x: 1 };
// A hole is the case under test: index 1 is never assigned.
const sparse: unknown[] = [1];
sparse[2] = 3;
const withExtra = Object.assign([1, 2], { extra: "ignored" });
const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, b: [true] });
const deep = (n: number): unknown => (n === 0 ? "leaf" : { d: deep(n - 1) });

const plain: [string, unknown][] = [
  ["a string", 'hello \u2028 \ud800 "quoted"'],
  ["a number", 42.5],
  ["true", true],
  ["null", null],
  ["an empty object", {}],
  ["an empty array", []],
  ["a put", { key: "k1", value: "v".repeat(64) }],
  [
    "a command entry",
    { name: "put", arg: { key: "k", value: "v" }, session: "s", seq: 3, lowest: 1, at: 1.7e12 },
  ],
  ["nested arrays", [[1, [2, [3]]], { a: [{ b: null }] }]],
  ["integer-like keys", { b: 1, 2: "two", a: 3, 1: "one" }],
  ["a sparse array", sparse],
  ["an array with an extra property", withExtra],
  ["a null-prototype object", nullProto],
];

const notPlain: [string, unknown][] = [
  ["undefined", undefined],
  ["an undefined property", { a: undefined }],
  ["an undefined element", [1, undefined]],
  ["NaN", Number.NaN],
  ["minus zero", { z: -0 }],
  ["Infinity", { n: Number.POSITIVE_INFINITY }],
  ["a BigInt", { n: 10n }],
  ["a Date", { at: new Date(0) }],
  ["a Map", new Map([["a", 1]])],
  ["a Set", [new Set([1])]],
  ["a shared object", { a: shared, b: shared }],
  ["a class instance", { u: new URL("http://x/") }],
  ["too deep to check", deep(80)],
];

describe("plainJsonText", () => {
  it.each(plain)("writes superjson's exact text for %s", (_, v) => {
    expect(isPlainJson(v)).toBe(true);
    expect(plainJsonText(v)).toBe(superjson.stringify(v));
    expect(stringifyValue(v)).toBe(superjson.stringify(v));
  });

  it.each(notPlain)("leaves %s to superjson, which round-trips it", (_, v) => {
    expect(isPlainJson(v)).toBe(false);
    expect(plainJsonText(v)).toBeNull();
    expect(stringifyValue(v)).toBe(superjson.stringify(v));
    expect(superjson.parse(stringifyValue(v))).toEqual(v);
  });

  it("refuses keys superjson refuses, so that superjson reports them", () => {
    const v = JSON.parse('{"__proto__": 1}') as unknown;
    expect(isPlainJson(v)).toBe(false);
    expect(() => stringifyValue(v)).toThrow(/prototype pollution/);
  });

  it("keeps encodeValue's checks for what is not plain", () => {
    expect(decodeValue(encodeValue({ key: "k", value: "v" }, "x"), "x")).toEqual({ key: "k", value: "v" });
    expect(() => encodeValue({ f: () => 1 }, "the argument")).toThrow(/the argument/);
  });
});
