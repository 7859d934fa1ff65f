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

/**
 * What the checks of one `produce` call (one scope) already know, so that checking after each
 * reducer of a batch costs what that reducer changed rather than everything the batch changed
 * so far (a batch of 256 puts into a SortedMap drafts ~1,500 nodes: looking each one up through
 * its proxy after every reducer made the check cost 40 ms per batch).
 */
interface ScopeChecks {
  /** The states of the scope's drafts, looked up once each (`draft[DRAFT_STATE]` is a proxy trap). */
  states: DraftState[];
  /** How many of the scope's drafts `states` holds. */
  seen: number;
  /** Per draft: the values of its keys found encodable and unable to change since. */
  checked: WeakMap<DraftState, Map<unknown, unknown>>;
}
const checksOfScope = new WeakMap<object, ScopeChecks>();

/**
 * Objects found encodable and frozen all the way down (as immer leaves a state): they cannot
 * change, so one walk is enough, in this batch and the next.
 */
const immutableValid = new WeakSet<object>();

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
  if (
    t !== "object" ||
    value === null ||
    immutableValid.has(value as object) ||
    isDraft(value) ||
    seen.has(value)
  )
    return undefined;
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
  if (value instanceof Set) {
    let i = 0;
    for (const v of value) {
      const bad = badValue(v, [...path, i++], seen);
      if (bad) return bad;
    }
    return undefined;
  }
  if (Array.isArray(value)) {
    let frozenBelow = Object.isFrozen(value);
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const bad = badValue(v, [...path, i], seen);
      if (bad) return bad;
      if (typeof v === "object" && v !== null && !immutableValid.has(v)) frozenBelow = false;
    }
    if (frozenBelow) immutableValid.add(value);
    return undefined;
  }
  const proto = Object.getPrototypeOf(value);
  // raftkit's state classes (SortedMap) hold state values in their own properties, as a plain object does.
  if (proto !== Object.prototype && proto !== null && !isStateClassInstance(value))
    return { path, reason: `an instance of ${proto?.constructor?.name ?? "a class"}` };
  let frozenBelow = Object.isFrozen(value);
  for (const key of Reflect.ownKeys(value as object)) {
    if (typeof key === "symbol") return { path: [...path, String(key)], reason: "a symbol key" };
    const child = (value as Record<string, unknown>)[key];
    const bad = badValue(child, [...path, key], seen);
    if (bad) return bad;
    if (typeof child === "object" && child !== null && !immutableValid.has(child)) frozenBelow = false;
  }
  if (frozenBelow) immutableValid.add(value as object);
  return undefined;
}

/** Whether a value, once found encodable, stays so: a primitive, a draft (its own changes are its state's), or an object walked and found frozen all the way down. */
const cannotChange = (v: unknown) =>
  typeof v !== "object" || v === null || immutableValid.has(v) || isDraft(v);

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
  const scope = stateOf(root)?.scope_;
  const drafts = scope?.drafts_;
  if (!scope || !drafts) return;
  let checks = checksOfScope.get(scope);
  if (!checks) {
    checks = { states: [], seen: 0, checked: new WeakMap() };
    checksOfScope.set(scope, checks);
  }
  for (; checks.seen < drafts.length; checks.seen++) {
    const s = stateOf(drafts[checks.seen]);
    if (s) checks.states.push(s);
  }
  for (const s of checks.states) {
    if (!s.modified_) continue;
    let checked = checks.checked.get(s);
    for (const [key, value] of assignedValues(s)) {
      if (checked !== undefined && checked.get(key) === value && checked.has(key)) continue;
      const keyBad =
        typeof key === "symbol" || typeof key === "function"
          ? { path: [], reason: `a ${typeof key} key` }
          : s.type_ === MAP && typeof key === "object" && key !== null
            ? badValue(key, [], new Set())
            : undefined;
      const at = key === undefined ? "<member>" : typeof key === "number" ? key : String(key);
      const bad = keyBad ?? badValue(value, [], new Set());
      if (!bad) {
        // A Set's members have no key: only Maps, arrays and objects remember what they checked.
        if (s.type_ !== SET && cannotChange(value) && (typeof key !== "object" || key === null)) {
          if (checked === undefined) {
            checked = new Map();
            checks.checked.set(s, checked);
          }
          checked.set(key, value);
        }
        continue;
      }
      const where = [...pathOf(s), at, ...bad.path].join(".");
      throw new NotSerializableError(
        `command "${command}" put ${bad.reason} into the state at ${where}, which a snapshot cannot encode`,
        "state",
      );
    }
  }
}
