import { current, isDraft } from "immer";
import { encodeValue } from "./codec.js";
import { isPlainJson } from "./plainJson.js";
import { isStateClassInstance } from "./snapshot/stateClasses.js";

/**
 * A reducer returned, or put into the state, a value superjson cannot carry (a function, a
 * symbol, a class instance). The command fails with this error on every node alike, and its
 * state changes are dropped.
 */
export class NotSerializableError extends Error {
  /** Stored with the command's result, so callers can tell it from an error the reducer threw. */
  readonly code = "NOT_SERIALIZABLE";
  constructor(reason: string, what: "result" | "state" = "result") {
    super(
      `NOT_SERIALIZABLE: ${what === "result" ? `the command's result cannot be stored: ${reason}` : reason}. ` +
        `${what === "result" ? "Return" : "Keep"} plain data (objects, arrays, Map, Set, Date, BigInt); the command was not applied`,
    );
    this.name = "NotSerializableError";
  }
}

/**
 * Copies `value` out of immer's drafts, however deep they sit (in objects, arrays, Maps,
 * Sets, raftkit's state classes' instances): a result is kept in the session table after the
 * draft is revoked, so it must hold no draft. Other values (class instances, Dates) are kept as
 * they are.
 *
 * NB: call it inside the `produce` recipe, while the drafts are alive.
 */
export function detachDrafts(value: unknown, copies = new Map<object, unknown>()): unknown {
  if (isDraft(value)) return current(value);
  if (typeof value !== "object" || value === null) return value;
  if (copies.has(value)) return copies.get(value);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    copies.set(value, out);
    for (const v of value) out.push(detachDrafts(v, copies));
    return out;
  }
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    copies.set(value, out);
    for (const [k, v] of value) out.set(detachDrafts(k, copies), detachDrafts(v, copies));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set<unknown>();
    copies.set(value, out);
    for (const v of value) out.add(detachDrafts(v, copies));
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null && !isStateClassInstance(value)) return value;
  // A state class's instance is copied as superjson rebuilds it: its prototype, its own fields.
  const out: Record<string, unknown> = proto === Object.prototype ? {} : Object.create(proto);
  copies.set(value, out);
  for (const [k, v] of Object.entries(value)) out[k] = detachDrafts(v, copies);
  return out;
}

/**
 * The form of a reducer's result that the session table keeps: detached from the drafts and
 * proven encodable the way a snapshot encodes it, so no result can make a snapshot fail.
 * Throws {@link NotSerializableError} otherwise.
 */
export function storableResult(value: unknown): unknown {
  // Most results are nothing, a primitive or plain JSON: superjson carries those as they are.
  const t = typeof value;
  if (value === null || (t !== "object" && t !== "function" && t !== "symbol")) return value;
  const detached = detachDrafts(value);
  if (isPlainJson(detached)) return detached;
  try {
    encodeValue(detached, "the result");
  } catch (e) {
    throw new NotSerializableError(e instanceof Error ? e.message : String(e));
  }
  return detached;
}
