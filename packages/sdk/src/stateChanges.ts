import { isDraft } from "immer";
import { isStateClassInstance, reportsValues } from "./snapshot/stateClasses.js";
import { contentsOf } from "./sortedMap/nodes.js";
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
 * so far: a batch of 256 puts into a SortedMap drafts ~1,500 tree nodes, and scanning them all
 * after every reducer cost 40 ms per batch.
 */
interface ScopeChecks {
  /** Drafts of the state's own data, looked up once each (`draft[DRAFT_STATE]` is a proxy trap). */
  states: DraftState[];
  /** How many of the scope's drafts have been sorted into `states` and `treeParts`. */
  seen: number;
  /** Drafts of a SortedMap's tree (its nodes and their arrays): never scanned, see `treeValues`. */
  treeParts: WeakSet<DraftState>;
  /** Per draft: the values of its keys found encodable and unable to change since. */
  checked: WeakMap<DraftState, Map<unknown, unknown>>;
  /** Values a SortedMap draft's `set` took since the last check, checked at the next one. */
  treeValuesSet: TreeValue[];
  /** Of those, the ones that could still change (objects not frozen all the way down): walked at every check. */
  treeValuesMutable: TreeValue[];
}
interface TreeValue {
  map: DraftState;
  key: unknown;
  value: unknown;
}
const checksOfScope = new WeakMap<object, ScopeChecks>();

function checksOf(scope: object): ScopeChecks {
  let checks = checksOfScope.get(scope);
  if (!checks) {
    checks = {
      states: [],
      seen: 0,
      treeParts: new WeakSet(),
      checked: new WeakMap(),
      treeValuesSet: [],
      treeValuesMutable: [],
    };
    checksOfScope.set(scope, checks);
  }
  return checks;
}

/**
 * Whether draft `s` is part of a SortedMap's tree (a state class registered with
 * `reportsValues`): the root node (its parent is the map), or
 * a node or array below one, except the values a leaf holds (drafts of the state's own data,
 * whose parent is a leaf's values array). A parent is always drafted, and so sorted, before its
 * children.
 */
function isTreePart(s: DraftState, treeParts: WeakSet<DraftState>): boolean {
  const parent = s.parent_;
  if (parent === undefined) return false;
  if (reportsValues(parent.base_)) return true;
  if (!treeParts.has(parent)) return false;
  const node = parent.parent_;
  const holdsValues =
    parent.type_ === ARRAY && node !== undefined && treeParts.has(node) && "values" in (node.base_ as object);
  return !holdsValues;
}

/**
 * Called by a SortedMap draft's `set`: the values it takes go into the tree's arrays, which
 * the check after the reducer does not scan, so they are checked from here.
 */
export function noteTreeValue(map: unknown, key: unknown, value: unknown): void {
  const s = stateOf(map);
  if (s) checksOf(s.scope_).treeValuesSet.push({ map: s, key, value });
}

function notEncodable(command: string, where: Path, reason: string): NotSerializableError {
  return new NotSerializableError(
    `command "${command}" put ${reason} into the state at ${where.join(".")}, which a snapshot cannot encode`,
    "state",
  );
}

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
    const map = Array.isArray(container) ? sortedMapAbove(parent) : undefined;
    if (map !== undefined) {
      // A value in a SortedMap's leaf: its path is the map's, then its key.
      const leaf = parent.parent_!;
      const keys = contentsOf(contentsOf(leaf.draft_ as { keys: unknown[] }).keys);
      path.unshift(String(keys[(container as unknown[]).findIndex(isChild)]));
      parent = map;
      continue;
    }
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
 * When `values` is the values array of a SortedMap's leaf, the state of that SortedMap's draft
 * (only when reporting an error: it climbs the tree).
 */
function sortedMapAbove(values: DraftState): DraftState | undefined {
  const leaf = values.parent_;
  if (leaf === undefined || !("values" in (leaf.base_ as object))) return undefined;
  for (let up: DraftState | undefined = leaf; up !== undefined; up = up.parent_)
    if (reportsValues(up.base_)) return up;
  return undefined;
}

/** Whether the SortedMap a value was set into still holds it under its key. */
function stillThere(t: TreeValue): boolean {
  return (t.map.draft_ as ReadonlyMap<unknown, unknown>).get(t.key) === t.value;
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
  const checks = checksOf(scope);
  for (; checks.seen < drafts.length; checks.seen++) {
    const s = stateOf(drafts[checks.seen]);
    if (s === undefined) continue;
    if (isTreePart(s, checks.treeParts)) checks.treeParts.add(s);
    else checks.states.push(s);
  }
  // Only what a SortedMap holds now counts: a value replaced or deleted since it was set is gone.
  checks.treeValuesMutable = checks.treeValuesMutable.filter(stillThere);
  for (const t of checks.treeValuesMutable) {
    const bad = badValue(t.value, [], new Set());
    if (bad) throw notEncodable(command, [...pathOf(t.map), String(t.key), ...bad.path], bad.reason);
  }
  for (const t of checks.treeValuesSet) {
    if (!stillThere(t)) continue;
    const bad = badValue(t.value, [], new Set());
    if (bad) throw notEncodable(command, [...pathOf(t.map), String(t.key), ...bad.path], bad.reason);
    if (!cannotChange(t.value)) checks.treeValuesMutable.push(t);
  }
  checks.treeValuesSet.length = 0;
  for (const s of checks.states) {
    // A SortedMap's own fields hold its tree, whose values its writers report (noteTreeValue).
    if (!s.modified_ || reportsValues(s.base_)) continue;
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
      if (bad) throw notEncodable(command, [...pathOf(s), at, ...bad.path], bad.reason);
      // A Set's members have no key: only Maps, arrays and objects remember what they checked.
      if (s.type_ !== SET && cannotChange(value) && (typeof key !== "object" || key === null)) {
        if (checked === undefined) {
          checked = new Map();
          checks.checked.set(s, checked);
        }
        checked.set(key, value);
      }
    }
  }
}
