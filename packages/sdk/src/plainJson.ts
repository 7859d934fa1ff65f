import superjson from "superjson";

/**
 * Most values raftkit encodes (command arguments, results, the app API's frames) are plain
 * JSON: objects, arrays, strings, finite numbers, booleans and null. For those superjson
 * writes `{"json":<the value as JSON>}` and nothing else, but its walker first builds a path
 * array for every node to collect annotations it will not need, which costs several times what
 * `JSON.stringify` does. {@link stringifyValue} checks plainness in one cheap walk and writes
 * that text itself, and hands anything else to superjson.
 *
 * Invariant: for every value, `superjson.parse(stringifyValue(v))` equals
 * `superjson.parse(superjson.stringify(v))`, and for a plain value the two texts are identical
 * (test/plainJson.test.ts compares them).
 */

/** How deep the plainness check goes before leaving the value to superjson (which copes with any depth it can). */
const MAX_DEPTH = 64;

/**
 * Whether superjson would encode `value` with no annotation at all, i.e. as plain JSON: no
 * undefined, NaN, ±Infinity, -0, BigInt, Date, Map, Set, class instance, function or symbol
 * anywhere, no object or array reached twice (superjson records shared references), and no key
 * superjson refuses (`__proto__`, `constructor`, `prototype`).
 */
function isPlain(value: unknown, seen: Set<object>, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      // superjson keeps -0 (with an annotation); JSON writes 0.
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object":
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth > MAX_DEPTH || seen.has(value)) return false;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      // A hole reads as undefined here; superjson skips it and writes null, as JSON does.
      if (!(i in value)) continue;
      if (!isPlain(value[i], seen, depth + 1)) return false;
    }
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (key === "__proto__" || key === "constructor" || key === "prototype") return false;
    if (!isPlain((value as Record<string, unknown>)[key], seen, depth + 1)) return false;
  }
  return true;
}

/** superjson's text of `value` when it is plain JSON (then nothing in it needs checking), else null. */
export function plainJsonText(value: unknown): string | null {
  return isPlain(value, new Set(), 0) ? `{"json":${JSON.stringify(value)}}` : null;
}

/** Whether `value` is plain JSON as {@link plainJsonText} sees it: encodable, with nothing in it to check. */
export function isPlainJson(value: unknown): boolean {
  return isPlain(value, new Set(), 0);
}

/** `superjson.stringify(value)`, at the cost of `JSON.stringify` when the value is plain JSON. */
export function stringifyValue(value: unknown): string {
  return plainJsonText(value) ?? superjson.stringify(value);
}
