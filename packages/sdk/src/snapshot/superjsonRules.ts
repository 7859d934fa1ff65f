import superjson from "superjson";
import { onlyStateClasses, stateClassOf } from "./stateClasses.js";

/*
 * What superjson 2 does with one value, as its walker and transformValue decide it, for the
 * sliced encoder: which values it tracks, how it writes a scalar, which values it walks into.
 */

/**
 * The value holds something the sliced encoder leaves to superjson itself (an instance of a
 * class other than raftkit's state classes, a RegExp, an Error, a URL, a typed array, a symbol,
 * a function, an invalid Date, a sparse array, a cycle, a key superjson refuses): the caller
 * encodes it with superjson instead.
 */
export class NotSliceable extends Error {}

/** superjson's isPrimitive: values it neither tracks by identity nor caches. */
export const isPrimitive = (v: unknown): boolean =>
  v === null ||
  v === undefined ||
  typeof v === "boolean" ||
  typeof v === "string" ||
  typeof v === "symbol" ||
  (typeof v === "number" && !Number.isNaN(v));

const isPlain = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v);
  return proto === null || (proto === Object.prototype && v !== Object.prototype);
};

/** The JSON of a value superjson does not walk into, and its annotation type, as superjson's transformValue gives them. */
export function scalar(v: unknown): { json: string; type: string | undefined } {
  switch (typeof v) {
    case "string":
      return { json: JSON.stringify(v), type: undefined };
    case "boolean":
      return { json: v ? "true" : "false", type: undefined };
    case "undefined":
      return { json: "null", type: "undefined" };
    case "bigint":
      return { json: `"${v.toString()}"`, type: "bigint" };
    case "number":
      if (Number.isNaN(v)) return { json: '"NaN"', type: "number" };
      if (v === Number.POSITIVE_INFINITY) return { json: '"Infinity"', type: "number" };
      if (v === Number.NEGATIVE_INFINITY) return { json: '"-Infinity"', type: "number" };
      if (v === 0 && 1 / v < 0) return { json: '"-0"', type: "number" };
      return { json: String(v), type: undefined };
    case "object":
      if (v === null) return { json: "null", type: undefined };
      if (v instanceof Date && !Number.isNaN(v.valueOf()))
        return { json: JSON.stringify(v.toISOString()), type: "Date" };
      throw new NotSliceable(`a ${Object.getPrototypeOf(v)?.constructor?.name ?? "value"}`);
    default:
      throw new NotSliceable(`a ${typeof v}`);
  }
}

/**
 * Whether superjson walks into `v`: a plain object, an array, a Map, a Set, or an instance of a
 * state class (see stateClasses.ts; superjson walks its own enumerable properties as a plain
 * object's, and {@link classAnnotation} gives its annotation).
 */
export function isContainer(v: unknown): v is object {
  if (typeof v !== "object" || v === null) return false;
  return (
    Array.isArray(v) ||
    v instanceof Map ||
    v instanceof Set ||
    (isPlain(v) && !(v instanceof Date)) ||
    stateClassOf(v) !== undefined
  );
}

/** superjson's annotation of a state class's instance (["class", identifier]), or undefined for any other value. */
export function classAnnotation(v: object): ["class", string] | undefined {
  if (isPlain(v)) return undefined;
  const identifier = stateClassOf(v);
  return identifier === undefined ? undefined : ["class", identifier];
}

/** Keys superjson refuses to write (prototype pollution). */
export const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Whether superjson's default instance (the one raftkit encodes with) has nothing registered
 * but raftkit's own state classes (stateClasses.ts), which the sliced codec writes and reads
 * itself: anything else registered (a class, a symbol, a custom transformer, allowed props of a
 * class) changes what superjson writes, and only superjson knows how. NB: reads superjson 2's
 * fields; test/snapshot pins them.
 */
export function superjsonIsPristine(): boolean {
  const d = (
    superjson as unknown as {
      defaultInstance?: {
        dedupe?: boolean;
        customTransformerRegistry?: { transfomers?: object };
        classRegistry?: {
          kv?: { keyToValue?: Map<unknown, unknown>; valueToKey?: Map<unknown, unknown> };
          classToAllowedProps?: Map<unknown, unknown>;
        };
        symbolRegistry?: { kv?: { valueToKey?: Map<unknown, unknown> } };
      };
    }
  ).defaultInstance;
  const custom = d?.customTransformerRegistry?.transfomers;
  const classes = d?.classRegistry;
  return (
    d?.dedupe === false &&
    custom !== undefined &&
    Object.keys(custom).length === 0 &&
    classes?.kv?.keyToValue !== undefined &&
    classes.kv.valueToKey !== undefined &&
    onlyStateClasses(classes.kv.keyToValue, classes.kv.valueToKey) &&
    classes.classToAllowedProps?.size === 0 &&
    d.symbolRegistry?.kv?.valueToKey?.size === 0
  );
}
