import { compareKeys, lowerBound, type SortedMapKey, upperBound } from "./keys.js";

/*
 * A B+tree whose nodes are plain objects and arrays, changed in place. Inside a reducer the
 * nodes are immer drafts, so a change copies only the nodes on its path (a few arrays of at
 * most MAX_KEYS entries), never the whole map; outside one they are frozen.
 */

/** Entries in key order. */
export interface Leaf<V> {
  keys: SortedMapKey[];
  values: V[];
}
/** `keys[i]` is the smallest key under `children[i]`. */
export interface Branch<V> {
  keys: SortedMapKey[];
  children: TreeNode<V>[];
}
export type TreeNode<V> = Leaf<V> | Branch<V>;

/** A node holds at most this many keys; past it, it splits in two halves. */
export const MAX_KEYS = 64;
/** A node below this many keys is merged with (or evened out against) a sibling. */
const MIN_KEYS = 16;

export const isLeaf = <V>(node: TreeNode<V>): node is Leaf<V> => "values" in node;

export const emptyLeaf = <V>(): Leaf<V> => ({ keys: [], values: [] });

/*
 * Keys are numbers and strings, never drafts of anything, so they are read and changed as plain
 * arrays rather than through immer's proxies: a binary search through a proxy costs a trap per
 * probe, and a splice one per moved key. NB: reads immer 10's draft bookkeeping (as
 * stateChanges.ts does): a draft's current contents are its copy, or its base while unchanged.
 */
const DRAFT_STATE = Symbol.for("immer-state");
/** A draft's current contents (its copy, or its base while unchanged); anything else as it is. */
export const contentsOf = <T>(value: T): T => {
  const state = (value as { [DRAFT_STATE]?: { copy_: T | null; base_: T } } | null)?.[DRAFT_STATE];
  return state === undefined ? value : (state.copy_ ?? state.base_);
};

function holdsNoObject(values: readonly unknown[]): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === "object" && v !== null) return false;
  }
  return true;
}

/**
 * `leaf`'s values, to change: an array of this reducer's when that is safe, else immer's draft
 * of it. A frozen array of numbers and strings (no objects: reading one through the draft would
 * make it a draft a reducer may change) is copied and given to the leaf, so a new key does not
 * move every later value through a proxy trap.
 */
function spliceableValues<V>(leaf: Leaf<V>): V[] {
  const values = contentsOf(leaf).values;
  if (values === contentsOf(values)) {
    // A plain array: ours if not frozen; copied when it holds no object.
    if (!Object.isFrozen(values)) return values;
    if (holdsNoObject(values)) {
      const own = values.slice();
      leaf.values = own;
      return own;
    }
  }
  return leaf.values;
}

/** `node`'s keys as they are now, to read. */
export const keysOf = (node: TreeNode<unknown>): SortedMapKey[] => contentsOf(contentsOf(node).keys);

/**
 * `node`'s keys, to change in place: an array of this reducer's (not frozen: a state's arrays
 * are), given to `node` first if it held a frozen one.
 */
function writableKeys(node: TreeNode<unknown>): SortedMapKey[] {
  const keys = keysOf(node);
  if (!Object.isFrozen(keys)) return keys;
  const own = keys.slice();
  node.keys = own;
  return own;
}

/** The leaf that holds `key` if anything does. */
export function leafFor<V>(root: TreeNode<V>, key: SortedMapKey): Leaf<V> {
  let node = root;
  while (!isLeaf(node)) node = node.children[Math.max(0, upperBound(keysOf(node), key) - 1)]!;
  return node;
}

/** Moves the upper half of `node` into a new sibling, which it returns. */
function split<V>(node: TreeNode<V>): TreeNode<V> {
  const keys = writableKeys(node);
  const half = keys.length >>> 1;
  const moved = keys.splice(half);
  return isLeaf(node)
    ? { keys: moved, values: spliceableValues(node).splice(half) }
    : { keys: moved, children: (node as Branch<V>).children.splice(half) };
}

/**
 * Sets `key` to `value` under `node`. Returns whether the key is new, and the new right
 * sibling when `node` split.
 */
export function insert<V>(
  node: TreeNode<V>,
  key: SortedMapKey,
  value: V,
): { added: boolean; sibling: TreeNode<V> | undefined } {
  const keys = keysOf(node);
  if (isLeaf(node)) {
    const i = lowerBound(keys, key);
    if (i < keys.length && keys[i] === key) {
      // Assigning an equal value would still make immer copy the path.
      if (!Object.is(contentsOf(contentsOf(node).values)[i], value)) spliceableValues(node)[i] = value;
      return { added: false, sibling: undefined };
    }
    const own = writableKeys(node);
    own.splice(i, 0, key);
    spliceableValues(node).splice(i, 0, value);
    return { added: true, sibling: own.length > MAX_KEYS ? split(node) : undefined };
  }
  let i = upperBound(keys, key) - 1;
  if (i < 0) {
    // The smallest key so far: it goes into the first child, whose smallest key it becomes.
    i = 0;
    writableKeys(node)[0] = key;
  }
  const below = insert(node.children[i]!, key, value);
  if (below.sibling === undefined) return below;
  const own = writableKeys(node);
  own.splice(i + 1, 0, below.sibling.keys[0]!);
  node.children.splice(i + 1, 0, below.sibling);
  return { added: true, sibling: own.length > MAX_KEYS ? split(node) : undefined };
}

/** Removes `key` from under `node`; returns whether it was there. */
export function remove<V>(node: TreeNode<V>, key: SortedMapKey): boolean {
  const keys = keysOf(node);
  if (isLeaf(node)) {
    const i = lowerBound(keys, key);
    if (i >= keys.length || keys[i] !== key) return false;
    writableKeys(node).splice(i, 1);
    spliceableValues(node).splice(i, 1);
    return true;
  }
  const i = upperBound(keys, key) - 1;
  if (i < 0 || !remove(node.children[i]!, key)) return false;
  const child = node.children[i]!;
  const childKeys = keysOf(child);
  if (childKeys.length < MIN_KEYS && node.children.length > 1) rebalance(node, i);
  else if (childKeys.length > 0 && keys[i] !== childKeys[0]) writableKeys(node)[i] = childKeys[0]!;
  return true;
}

/** Merges child `i` of `parent` with a neighbour, then splits the two evenly again if too big. */
function rebalance<V>(parent: Branch<V>, i: number): void {
  const l = i > 0 ? i - 1 : i;
  const left = parent.children[l]!;
  const right = parent.children[l + 1]!;
  const leftKeys = writableKeys(left);
  leftKeys.push(...keysOf(right));
  if (isLeaf(left)) spliceableValues(left).push(...(right as Leaf<V>).values);
  else left.children.push(...(right as Branch<V>).children);
  const parentKeys = writableKeys(parent);
  if (leftKeys.length > MAX_KEYS) {
    const sibling = split(left);
    parent.children[l + 1] = sibling;
    parentKeys[l + 1] = sibling.keys[0]!;
  } else {
    parentKeys.splice(l + 1, 1);
    parent.children.splice(l + 1, 1);
  }
  parentKeys[l] = keysOf(left)[0]!;
}

/**
 * Whether `root` is a well-formed tree holding `count` entries: keys in strictly increasing
 * order, every branch key the smallest key below it, no node over MAX_KEYS, every leaf at the
 * same depth. For tests and for checking a decoded snapshot.
 */
export function isWellFormed<V>(root: TreeNode<V>, count: number): boolean {
  let depth = -1;
  let seen = 0;
  let last: SortedMapKey | undefined;
  const visit = (node: TreeNode<V>, level: number, isRoot: boolean): boolean => {
    if (!Array.isArray(node.keys) || node.keys.length > MAX_KEYS) return false;
    if (isLeaf(node)) {
      if (!Array.isArray(node.values) || node.values.length !== node.keys.length) return false;
      if (!isRoot && node.keys.length === 0) return false;
      if (depth === -1) depth = level;
      if (depth !== level) return false;
      for (const k of node.keys) {
        if (last !== undefined && compareKeys(last, k) >= 0) return false;
        last = k;
        seen++;
      }
      return true;
    }
    const children = (node as Branch<V>).children;
    if (
      !Array.isArray(children) ||
      children.length !== node.keys.length ||
      children.length < (isRoot ? 2 : 1)
    )
      return false;
    return children.every((c, i) => c.keys[0] === node.keys[i] && visit(c, level + 1, false));
  };
  return visit(root, 0, true) && seen === count;
}
