import { isDraft } from "immer";
import { isStateClassInstance } from "./snapshot/stateClasses.js";
import { NotSerializableError } from "./storableResult.js";

/**
 * NB: immer 10's draft bookkeeping, read (never written) to find what reducers changed
 * without walking or encoding the state: every draft of a `produce` call is listed in its
 * scope, and a modified draft records which keys were assigned. Pinned by the tests in
 * test/stateChanges.test.ts, which fail if immer changes it.
 */
const DRAFT_STATE = Symbol.for("immer-state");
const OBJECT = 0;
const ARRAY = 1;
const MAP = 2;
const SET = 3;

interface DraftState {
  type_: typeof OBJECT | typeof ARRAY | typeof MAP | typeof SET;
  modified_: boolean;
  base_: unknown;
  copy_: unknown;
  parent_?: DraftState;
  assigned_: Record<PropertyKey, boolean> | Map<unknown, boolean> | undefined;
  draft_: unknown;
  scope_: { drafts_: unknown[] | null };
}

type Path = (string | number)[];

const stateOf = (draft: unknown): DraftState | undefined =>
  (draft as Record<symbol, DraftState> | null)?.[DRAFT_STATE];

/** Why `value` cannot be part of the state, with the path inside it, or undefined when it can. */
function badValue(
  value: unknown,
  path: Path,
  seen: Set<unknown>,
): { path: Path; reason: string } | undefined {
  const t = typeof value;
  if (t === "function" || t === "symbol") return { path, reason: `a ${t}` };
  if (t !== "object" || value === null || isDraft(value) || seen.has(value)) return undefined;
  seen.add(value);
  if (value instanceof Date || value instanceof RegExp || value instanceof Error || value instanceof URL)
    return undefined;
  if (value instanceof Map) {
    for (const [k, v] of value) {
      const bad = badValue(k, [...path, "<key>"], seen) ?? badValue(v, [...path, String(k)], seen);
      if (bad) return bad;
    }
    return undefined;
  }
  if (value instanceof Set || Array.isArray(value)) {
    let i = 0;
    for (const v of value) {
      const bad = badValue(v, [...path, i++], seen);
      if (bad) return bad;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value);
  // raftkit's state classes (SortedMap) hold state values in their own properties, as a plain object does.
  if (proto !== Object.prototype && proto !== null && !isStateClassInstance(value))
    return { path, reason: `an instance of ${proto?.constructor?.name ?? "a class"}` };
  for (const key of Reflect.ownKeys(value as object)) {
    if (typeof key === "symbol") return { path: [...path, String(key)], reason: "a symbol key" };
    const bad = badValue((value as Record<string, unknown>)[key], [...path, key], seen);
    if (bad) return bad;
  }
  return undefined;
}

/** The values a modified draft holds that were put there in this `produce` call (not drafts of the base). */
function* assignedValues(s: DraftState): Generator<[key: unknown, value: unknown]> {
  if (s.type_ === MAP) {
    const copy = s.copy_ as Map<unknown, unknown>;
    for (const [key, assigned] of (s.assigned_ as Map<unknown, boolean> | undefined) ?? []) {
      if (assigned) yield [key, copy.get(key)];
    }
  } else if (s.type_ === SET) {
    const base = s.base_ as Set<unknown>;
    for (const v of s.copy_ as Set<unknown>) if (!base.has(v)) yield [undefined, v];
  } else {
    const copy = s.copy_ as Record<PropertyKey, unknown>;
    const assigned = s.assigned_ as Record<PropertyKey, boolean>;
    for (const key of Reflect.ownKeys(assigned)) if (assigned[key]) yield [key, copy[key]];
  }
}

/** Where `s` sits in the state, found by searching each parent (only when reporting an error). */
function pathOf(s: DraftState): Path {
  const path: Path = [];
  for (let child = s, parent = s.parent_; parent; child = parent, parent = parent.parent_) {
    const container = parent.copy_ ?? parent.base_;
    const isChild = (v: unknown) => v === child.draft_ || v === child.base_;
    let key: string | number = "?";
    if (container instanceof Map) {
      for (const [k, v] of container) if (isChild(v)) key = String(k);
    } else if (container instanceof Set) key = "<member>";
    else
      for (const [k, v] of Object.entries(container as object))
        if (isChild(v)) key = Array.isArray(container) ? Number(k) : k;
    path.unshift(key);
  }
  return path;
}

/**
 * Throws {@link NotSerializableError} naming `command` and the path if the drafts of the
 * running `produce` call hold a value a snapshot could not encode (a function, a symbol, a
 * class instance). Costs what the reducers changed — the drafts they touched and the values
 * they assigned — never the size of the state. Call it inside the recipe, after each reducer:
 * values put there by earlier reducers were checked then and are found again, so only the
 * reducer that put a bad value in is blamed, whichever reducers share the draft.
 */
export function assertChangesEncodable(root: unknown, command: string): void {
  const drafts = stateOf(root)?.scope_.drafts_;
  if (!drafts) return;
  for (const draft of drafts) {
    const s = stateOf(draft);
    if (!s?.modified_) continue;
    for (const [key, value] of assignedValues(s)) {
      const keyBad =
        typeof key === "symbol" || typeof key === "function"
          ? { path: [], reason: `a ${typeof key} key` }
          : s.type_ === MAP && typeof key === "object" && key !== null
            ? badValue(key, [], new Set())
            : undefined;
      const at = key === undefined ? "<member>" : typeof key === "number" ? key : String(key);
      const bad = keyBad ?? badValue(value, [], new Set());
      if (!bad) continue;
      const where = [...pathOf(s), at, ...bad.path].join(".");
      throw new NotSerializableError(
        `command "${command}" put ${bad.reason} into the state at ${where}, which a snapshot cannot encode`,
        "state",
      );
    }
  }
}
