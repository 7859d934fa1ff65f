import { compareKeys, lowerBound, type SortedMapKey, upperBound } from "./keys.js";

/*
 * A B+tree whose nodes are plain objects and arrays, changed in place. Inside a reducer a change
 * copies only the nodes on its path (a few arrays of at most MAX_KEYS entries), never the whole
 * map: either immer drafts them, or (see ownedChanges.ts) the change copies them itself. Outside
 * a reducer they are frozen.
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
type DraftState<T> = { copy_: T | null; base_: T };
const draftStateOf = <T>(value: T) =>
  (value as { [DRAFT_STATE]?: DraftState<T> } | null | undefined)?.[DRAFT_STATE];

/** A draft's current contents (its copy, or its base while unchanged); anything else as it is. */
export const contentsOf = <T>(value: T): T => {
  const state = draftStateOf(value);
  return state === undefined ? value : (state.copy_ ?? state.base_);
};

/**
 * A copy of `array` as a new, unfrozen array. Not `slice()`: V8 (Node 20) slices a frozen array
 * element by element on its slow path, about 80 ns each (5 µs for a node of 64), and every array
 * of a state is frozen; a spread copies it at the speed of an unfrozen one.
 */
export const copyOf = <T>(array: readonly T[]): T[] => [...array];

/**
 * `branch.children`, to read or change. Immer copies a drafted array (with `slice()`, see
 * {@link copyOf}) the first time a child is read through it; this copies it first, with a
 * spread, which immer then uses. NB: writes immer 10's draft bookkeeping, as {@link contentsOf}
 * reads it: the copy is what immer's own would be.
 */
export function childrenOf<V>(branch: Branch<V>): TreeNode<V>[] {
  const children = branch.children;
  const state = draftStateOf(children);
  if (state !== undefined && state.copy_ === null) state.copy_ = copyOf(state.base_);
  return children;
}

export const isDraftNode = (value: unknown): boolean => draftStateOf(value) !== undefined;

/**
 * Nodes the change under way copied out of a frozen tree, outside immer (see ownedChanges.ts),
 * in the order it made them; ownedChanges.ts freezes them when it ends.
 */
export const made: TreeNode<unknown>[] = [];

/**
 * `active`: the change under way copies nodes outside immer (ownedChanges.ts). `open`: it may
 * leave a node it copied holding something not frozen: it put an object into the tree, or went
 * through a node an earlier change of this reducer left unfrozen. Until then every copy holds
 * only frozen nodes and values, and is frozen unchecked.
 */
export const ownedChange = { active: false, open: false };

/** A plain copy of a frozen node, to change: its arrays are shared until they change too. */
export function copyNode<V>(node: TreeNode<V>): TreeNode<V> {
  const copy: TreeNode<V> = isLeaf(node)
    ? { keys: node.keys, values: node.values }
    : { keys: node.keys, children: node.children };
  if (ownedChange.active) made.push(copy);
  return copy;
}

/** `branch.children`, to change: immer's draft of it, or an array of this change's. */
function writableChildren<V>(branch: Branch<V>): TreeNode<V>[] {
  const children = childrenOf(branch);
  if (isDraftNode(children) || !Object.isFrozen(children)) return children;
  const own = copyOf(children);
  branch.children = own;
  return own;
}

/**
 * Child `i` of `parent`, to change in place: immer's draft of it, the child itself when it is not
 * frozen (a map built in this reducer, or a node this reducer copied), else a copy of it put in
 * its place (`parent` is then such a copy too).
 */
export function writableChild<V>(parent: Branch<V>, i: number): TreeNode<V> {
  const child = childrenOf(parent)[i]!;
  if (isDraftNode(child)) return child;
  if (!Object.isFrozen(child)) {
    ownedChange.open = true;
    return child;
  }
  const copy = copyNode(child);
  writableChildren(parent)[i] = copy;
  return copy;
}

export function holdsNoObject(values: readonly unknown[]): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === "object" && v !== null) return false;
  }
  return true;
}

/**
 * The arrays the change under way copied (see writableKeys, spliceableValues). {@link sealCopies}
 * freezes them once it is done, so that immer's finalize skips them rather than walk each entry
 * looking for drafts; a later change to the same node copies it again (a spread, ~0.1 µs).
 */
const copies: unknown[][] = [];

/** Ends a change: freezes the arrays it copied, those of values only if they hold no object (a draft among them must be finalized by immer). */
export function sealCopies(): void {
  for (const a of copies) if (holdsNoObject(a)) Object.freeze(a);
  copies.length = 0;
}

/**
 * `leaf`'s values, to change: an array of this reducer's when that is safe, else immer's draft
 * of it. In a leaf this reducer copied, a frozen array is copied. In immer's draft of a leaf, a
 * frozen array of numbers and strings (no objects: reading one through the draft would make it
 * a draft a reducer may change) is copied and given to the leaf, so a new key does not move
 * every later value through a proxy trap.
 */
function spliceableValues<V>(leaf: Leaf<V>): V[] {
  const values = contentsOf(leaf).values;
  if (values === contentsOf(values)) {
    // A plain array: ours if not frozen; copied when it holds no object.
    if (!Object.isFrozen(values)) return values;
    const drafted = isDraftNode(leaf);
    if (!drafted || holdsNoObject(values)) {
      const own = copyOf(values);
      leaf.values = own;
      if (drafted) copies.push(own);
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
  const own = copyOf(keys);
  node.keys = own;
  if (isDraftNode(node)) copies.push(own);
  return own;
}

/** The leaf that holds `key` if anything does. */
export function leafFor<V>(root: TreeNode<V>, key: SortedMapKey): Leaf<V> {
  let node = root;
  while (!isLeaf(node)) node = childrenOf(node)[Math.max(0, upperBound(keysOf(node), key) - 1)]!;
  return node;
}

/** What {@link valueAt} returns for a key that is not there. */
export const ABSENT: unique symbol = Symbol("absent");

/**
 * The value under `key` as it is now, or ABSENT, read without making drafts: a value that is
 * already a draft comes as the draft, any other as it is (frozen, in a state).
 */
export function valueAt<V>(root: TreeNode<V>, key: SortedMapKey): V | typeof ABSENT {
  let node = contentsOf(root);
  while (!isLeaf(node)) {
    const children = contentsOf(node.children);
    node = contentsOf(children[Math.max(0, upperBound(contentsOf(node.keys), key) - 1)]!);
  }
  const keys = contentsOf(node.keys);
  const i = lowerBound(keys, key);
  return i < keys.length && keys[i] === key ? contentsOf(node.values)[i]! : ABSENT;
}

/** Moves the upper half of `node` into a new sibling, which it returns. */
function split<V>(node: TreeNode<V>): TreeNode<V> {
  const keys = writableKeys(node);
  const half = keys.length >>> 1;
  const moved = keys.splice(half);
  const sibling: TreeNode<V> = isLeaf(node)
    ? { keys: moved, values: spliceableValues(node).splice(half) }
    : { keys: moved, children: writableChildren(node as Branch<V>).splice(half) };
  if (ownedChange.active) made.push(sibling);
  return sibling;
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
  const below = insert(writableChild(node, i), key, value);
  if (below.sibling === undefined) return below;
  const own = writableKeys(node);
  own.splice(i + 1, 0, below.sibling.keys[0]!);
  writableChildren(node).splice(i + 1, 0, below.sibling);
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
  if (i < 0 || !remove(writableChild(node, i), key)) return false;
  const children = childrenOf(node);
  const childKeys = keysOf(children[i]!);
  if (childKeys.length < MIN_KEYS && children.length > 1) rebalance(node, i);
  else if (childKeys.length > 0 && keys[i] !== childKeys[0]) writableKeys(node)[i] = childKeys[0]!;
  return true;
}

/** Merges child `i` of `parent` with a neighbour, then splits the two evenly again if too big. */
function rebalance<V>(parent: Branch<V>, i: number): void {
  const l = i > 0 ? i - 1 : i;
  const left = writableChild(parent, l);
  const right = childrenOf(parent)[l + 1]!;
  if (!isDraftNode(right) && !Object.isFrozen(right)) ownedChange.open = true;
  const leftKeys = writableKeys(left);
  leftKeys.push(...keysOf(right));
  if (isLeaf(left)) spliceableValues(left).push(...(right as Leaf<V>).values);
  else writableChildren(left as Branch<V>).push(...(right as Branch<V>).children);
  const parentKeys = writableKeys(parent);
  if (leftKeys.length > MAX_KEYS) {
    const sibling = split(left);
    writableChildren(parent)[l + 1] = sibling;
    parentKeys[l + 1] = sibling.keys[0]!;
  } else {
    parentKeys.splice(l + 1, 1);
    writableChildren(parent).splice(l + 1, 1);
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
