import { TestTree } from "./stateClassFixture.js";

/** About `mb` megabytes of state: a Map of 128-byte strings, with a Date, a Set, a BigInt, undefined and shared values. */
export function bigState(mb: number) {
  const n = Math.round((mb * 1024 * 1024) / 144);
  const data = new Map<string, unknown>();
  for (let i = 0; i < n; i++) data.set(`k${i}`, `${i}`.padEnd(128, "v"));
  const owner = { name: "o", since: new Date(0) };
  return {
    data,
    at: new Date(0),
    tags: new Set(["a", 1n]),
    nothing: undefined,
    nested: [{ x: -0, y: Number.NaN, owner }],
    owner,
  };
}

/** mulberry32. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = ["a", "b", "x.y", "back\\slash", "10", "2", "0", "ünï", "", 'q"uote', "sp ace", "a.b.c", "\\."];
const STRINGS = [
  "",
  "plain",
  'q"uote',
  "back\\slash",
  "line\nbreak",
  "é☃🎉",
  "\u0000\u001f",
  "\ud800lone",
  "dots.in.it",
];
const NUMBERS = [
  0,
  -0,
  1,
  -1,
  1.5,
  1e21,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  5e-324,
];

/**
 * A random value of what states hold (seeded): primitives, undefined, BigInts, Dates, arrays,
 * plain objects, Maps (any keys), Sets and instances of a state class ({@link TestTree}),
 * nested, with some values shared between places.
 */
export function randomValue(seed: number): unknown {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const made: object[] = [];
  const value = (depth: number): unknown => {
    const k = r();
    if (made.length > 0 && k < 0.08) return pick(made);
    if (depth <= 0 || k < 0.45) {
      switch (Math.floor(r() * 8)) {
        case 0:
          return pick(STRINGS);
        case 1:
          return pick(NUMBERS);
        case 2:
          return r() < 0.5;
        case 3:
          return null;
        case 4:
          return undefined;
        case 5:
          return BigInt(Math.floor(r() * 1e6)) * (r() < 0.5 ? -1n : 1n);
        case 6: {
          const d = new Date(Math.floor(r() * 2e12));
          made.push(d);
          return d;
        }
        default:
          return `s${Math.floor(r() * 100)}`;
      }
    }
    const n = Math.floor(r() * 5);
    let v: object;
    switch (Math.floor(r() * 5)) {
      case 0:
        v = Array.from({ length: n }, () => value(depth - 1));
        break;
      case 1: {
        const o: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) o[pick(KEYS)] = value(depth - 1);
        v = o;
        break;
      }
      case 2: {
        const m = new Map<unknown, unknown>();
        for (let i = 0; i < n; i++) m.set(r() < 0.7 ? pick(KEYS) : value(depth - 1), value(depth - 1));
        v = m;
        break;
      }
      case 3:
        v = new Set(Array.from({ length: n }, () => value(depth - 1)));
        break;
      default: {
        const entries = new Map<string, unknown>();
        for (let i = 0; i < 2 * n; i++) entries.set(pick(KEYS), value(depth - 1));
        v = new TestTree([...entries]);
      }
    }
    made.push(v);
    return v;
  };
  return { root: value(4), again: made.length > 0 ? pick(made) : null };
}

/**
 * Whether `a` and `b` hold the same values of the same types, in the same order, and share
 * values in the same places (where `a` has one object twice, `b` has one object twice).
 */
export function sameGraph(
  a: unknown,
  b: unknown,
  pairs = new Map<unknown, unknown>(),
  back = new Map<unknown, unknown>(),
): boolean {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return Object.is(a, b);
  if (pairs.has(a) || back.has(b)) return pairs.get(a) === b && back.get(b) === a;
  pairs.set(a, b);
  back.set(b, a);
  if (a instanceof Date) return b instanceof Date && Object.is(a.getTime(), b.getTime());
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    const be = [...b];
    return [...a].every(
      ([k, v], i) => sameGraph(k, be[i]![0], pairs, back) && sameGraph(v, be[i]![1], pairs, back),
    );
  }
  if (a instanceof Set) {
    if (!(b instanceof Set) || a.size !== b.size) return false;
    const bs = [...b];
    return [...a].every((v, i) => sameGraph(v, bs[i], pairs, back));
  }
  if (Array.isArray(a) !== Array.isArray(b) || b instanceof Map || b instanceof Set || b instanceof Date)
    return false;
  // A state class's instance has its class's prototype: a plain object with the same fields is not it.
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  if (ak.join("\u0000") !== bk.join("\u0000")) return false;
  return ak.every((k) =>
    sameGraph((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], pairs, back),
  );
}
