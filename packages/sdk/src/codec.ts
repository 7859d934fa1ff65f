import superjson from "superjson";
import { DecodeError } from "./errors.js";
import { plainJsonText } from "./plainJson.js";
import { isStateClassInstance } from "./snapshot/stateClasses.js";
import { parseSuperjson } from "./snapshot/superjsonEqualities.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Encodes a value with superjson (Date, Map, Set, BigInt, undefined survive) to bytes; throws {@link DecodeError}. */
export function encodeValue(value: unknown, what: string): Uint8Array {
  const plain = plainJsonText(value);
  if (plain !== null) return enc.encode(plain);
  let text: string;
  try {
    text = superjson.stringify(value);
  } catch (e) {
    throw new DecodeError(what, e);
  }
  // superjson silently drops what it cannot represent (functions, symbols, class instances lose
  // their prototype); refuse values whose round trip is lossy in a way that would mislead.
  assertSerializable(value, what);
  return enc.encode(text);
}

/** Decodes what {@link encodeValue} wrote: `superjson.parse`, keeping values shared inside raftkit's state classes shared. */
export function decodeValue<T>(bytes: Uint8Array, what: string): T {
  try {
    return parseSuperjson<T>(dec.decode(bytes));
  } catch (e) {
    throw new DecodeError(what, e);
  }
}

/**
 * Throws for values superjson would not carry faithfully: functions, symbols, class instances
 * it does not know (raftkit's state classes it knows: their own properties are checked).
 */
function assertSerializable(value: unknown, what: string, seen = new Set<unknown>()): void {
  if (value === null || value === undefined) return;
  const t = typeof value;
  if (t === "function" || t === "symbol") throw new DecodeError(what, new Error(`a ${t} cannot be sent`));
  if (t !== "object") return;
  if (seen.has(value)) return;
  seen.add(value);
  if (value instanceof Date || value instanceof RegExp || value instanceof Error || value instanceof URL)
    return;
  if (value instanceof Map) {
    for (const [k, v] of value) {
      assertSerializable(k, what, seen);
      assertSerializable(v, what, seen);
    }
    return;
  }
  if (value instanceof Set || Array.isArray(value)) {
    for (const v of value) assertSerializable(v, what, seen);
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null && !isStateClassInstance(value)) {
    throw new DecodeError(
      what,
      new Error(`an instance of ${proto?.constructor?.name ?? "a class"} cannot be sent; use plain objects`),
    );
  }
  for (const v of Object.values(value as object)) assertSerializable(v, what, seen);
}
