import { immerable, isDraft } from "immer";
import { registerStateClass } from "../snapshot/stateClasses.js";
import { noteTreeValue } from "../stateChanges.js";
import { Cursor, type Seek } from "./cursor.js";
import { checkKey, compareKeys, lowerBound, type SortedMapKey } from "./keys.js";
import {
  ABSENT,
  contentsOf,
  copyNode,
  emptyLeaf,
  insert,
  isDraftNode,
  isLeaf,
  keysOf,
  leafFor,
  ownedChange,
  remove,
  sealCopies,
  type TreeNode,
  valueAt,
} from "./nodes.js";
import { endOwnedChange, ownable } from "./ownedChanges.js";

/** A value with nothing in it for immer to draft or the check to look into. */
const isPrimitive = (v: unknown): boolean =>
  v === null || (typeof v !== "object" && typeof v !== "function" && typeof v !== "symbol");

/** Ends a change to the tree under `root`: freezes the arrays and nodes it copied that may be. */
function endChange(root: TreeNode<unknown>): void {
  sealCopies();
  endOwnedChange(root);
}

export type { SortedMapKey } from "./keys.js";

/** Which entries {@link SortedMap.range} visits: keys in [`from`, `to`), starting with `prefix`. */
export interface SortedMapRange<K extends SortedMapKey> {
  /** The smallest key visited (inclusive). */
  from?: K | undefined;
  /** The first key not visited (exclusive), as etcd's range end. */
  to?: K | undefined;
  /** Only string keys that start with it (`"jobs/"`). */
  prefix?: string | undefined;
  /** At most this many entries. */
  limit?: number | undefined;
  /** From the largest key down. */
  reverse?: boolean | undefined;
}

/** What queries, `state$` and the client see of a {@link SortedMap}: every read, no writes. */
export interface ReadonlySortedMap<K extends SortedMapKey, V> extends Iterable<[K, V]> {
  readonly size: number;
  get(key: K): V | undefined;
  has(key: K): boolean;
  keys(): IterableIterator<K>;
  values(): IterableIterator<V>;
  entries(): IterableIterator<[K, V]>;
  forEach(fn: (value: V, key: K, map: ReadonlySortedMap<K, V>) => void): void;
  range(options?: SortedMapRange<K>): IterableIterator<[K, V]>;
  first(): [K, V] | undefined;
  last(): [K, V] | undefined;
}

/**
 * Changes of structure (a key added or removed) per map, or per draft of one: a walk that
 * sees one under way finds its place again by key, so changing a map while iterating it
 * behaves as with `Map` (removed entries are skipped, added ones after the position seen).
 */
const structureChanges = new WeakMap<object, number>();
const changesOf = (map: object) => structureChanges.get(map) ?? 0;

// biome-ignore lint/suspicious/noExplicitAny: reads the private field from outside the class
const rootOf = <V>(map: SortedMap<any, V>): TreeNode<V> => (map as unknown as { root: TreeNode<V> }).root;

/** The smallest string greater than every string that starts with `prefix`; undefined when there is none. */
function prefixEnd(prefix: string): string | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const unit = prefix.charCodeAt(i);
    if (unit < 0xffff) return prefix.slice(0, i) + String.fromCharCode(unit + 1);
  }
  return undefined;
}

const larger = (a: SortedMapKey | undefined, b: SortedMapKey | undefined) =>
  a === undefined ? b : b === undefined ? a : compareKeys(a, b) >= 0 ? a : b;
const smaller = (a: SortedMapKey | undefined, b: SortedMapKey | undefined) =>
  a === undefined ? b : b === undefined ? a : compareKeys(a, b) <= 0 ? a : b;

/**
 * A map for large collections in the state, with the methods of `Map` and entries kept in key
 * order. Changing one entry of a plain `Map` in a reducer makes immer copy the whole Map
 * (about 1.5 ms for 10,000 entries, on every node, for every batch); changing a SortedMap
 * copies a few nodes of at most 64 entries on the way to that key, whatever its size.
 *
 * Inside a reducer it is a draft like any other: `set`, `delete` and `clear` change it, and
 * values read from it are drafts too (`draft.jobs.get(id)!.state = "done"` works). Everywhere
 * else (queries, `state$`, results) it is frozen and its writers throw.
 *
 * Keys are strings or numbers (numbers first, by value; then strings, by UTF-16 code unit), so
 * every node iterates it in the same order. Values are anything the state may hold.
 */
export class SortedMap<K extends SortedMapKey, V> implements ReadonlySortedMap<K, V> {
  static readonly [immerable] = true;

  // Own, enumerable fields: what immer drafts and superjson writes into snapshots. TypeScript-
  // private (not #private): immer's draft of the map must be able to read and write them.
  private root: TreeNode<V> = emptyLeaf();
  private count = 0;

  constructor(entries?: Iterable<readonly [K, V]> | null) {
    if (entries) for (const [k, v] of entries) this.set(k, v);
  }

  get size(): number {
    return this.count;
  }

  get(key: K): V | undefined {
    // Read without drafting the path: a draft of each node on it costs immer a copy.
    const value = valueAt(contentsOf(this).root, key);
    if (value === ABSENT) return undefined;
    if (typeof value !== "object" || value === null || isDraft(value) || !isDraft(this)) return value;
    // An object read in a reducer comes as immer's draft of it, so that changing it changes the state.
    const leaf = leafFor(this.root, key);
    return leaf.values[lowerBound(keysOf(leaf), key)];
  }

  has(key: K): boolean {
    return valueAt(contentsOf(this).root, key) !== ABSENT;
  }

  set(key: K, value: V): this {
    assertWritable(this, "set");
    const k = checkKey(key);
    if (isDraft(this)) {
      // The check after the reducer does not scan the tree's arrays: it is told of the value here.
      if (!isPrimitive(value)) {
        noteTreeValue(this, k, value);
        ownedChange.open = true;
      }
      // Setting the value a key has changes nothing (immer returns the same state).
      const current = valueAt(contentsOf(this).root, k);
      if (current !== ABSENT && Object.is(current, value)) return this;
    }
    const root = this.rootToChange();
    let changed: ReturnType<typeof insert<V>>;
    try {
      changed = insert(root, k, value);
    } finally {
      endChange(root);
    }
    const { added, sibling } = changed;
    if (sibling) this.root = { keys: [keysOf(root)[0]!, sibling.keys[0]!], children: [root, sibling] };
    if (added) {
      this.count++;
      structureChanges.set(this, changesOf(this) + 1);
    }
    return this;
  }

  delete(key: K): boolean {
    assertWritable(this, "delete");
    const k = checkKey(key);
    if (valueAt(contentsOf(this).root, k) === ABSENT) return false;
    const start = this.rootToChange();
    try {
      remove(start, k);
    } finally {
      endChange(start);
    }
    this.count--;
    structureChanges.set(this, changesOf(this) + 1);
    let root = this.root;
    while (!isLeaf(root) && root.children.length === 1) root = root.children[0]!;
    if (root !== this.root) this.root = root;
    return true;
  }

  /**
   * The root a change starts from: in a draft of a tree without objects (see ownedChanges.ts),
   * a copy of it that the change may change in place, given to the map; else the root as it is
   * (immer's draft of it, or a map's own outside a draft).
   */
  private rootToChange(): TreeNode<V> {
    const current = contentsOf(this).root;
    if (!isDraft(this) || isDraftNode(current) || !ownable(current)) return this.root;
    ownedChange.active = true;
    if (!Object.isFrozen(current)) {
      ownedChange.open = true;
      return current;
    }
    const copy = copyNode(current);
    this.root = copy;
    return copy;
  }

  clear(): void {
    assertWritable(this, "clear");
    if (this.count === 0) return;
    this.root = emptyLeaf();
    this.count = 0;
    structureChanges.set(this, changesOf(this) + 1);
  }

  /** The entry with the smallest key. */
  first(): [K, V] | undefined {
    return walk(this, { key: undefined, exclusive: false }, false).next().value;
  }

  /** The entry with the largest key. */
  last(): [K, V] | undefined {
    return walk(this, { key: undefined, exclusive: false }, true).next().value;
  }

  /** Entries in key order within `options` (all of them by default). */
  range(options: SortedMapRange<K> = {}): IterableIterator<[K, V]> {
    const { from, to, prefix, limit = Number.POSITIVE_INFINITY, reverse = false } = options;
    if (from !== undefined) checkKey(from);
    if (to !== undefined) checkKey(to);
    const low = larger(from, prefix);
    const high = prefix === undefined ? to : smaller(to, prefixEnd(prefix));
    const outside = reverse
      ? (k: SortedMapKey) => low !== undefined && compareKeys(k, low) < 0
      : (k: SortedMapKey) => high !== undefined && compareKeys(k, high) >= 0;
    const start: Seek = reverse ? { key: high, exclusive: true } : { key: low, exclusive: false };
    return walk(this, start, reverse, outside, limit);
  }

  entries(): IterableIterator<[K, V]> {
    return walk(this, { key: undefined, exclusive: false }, false);
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  *keys(): IterableIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  forEach(fn: (value: V, key: K, map: SortedMap<K, V>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }

  get [Symbol.toStringTag](): string {
    return "SortedMap";
  }

  [Symbol.for("nodejs.util.inspect.custom")](
    _depth: number,
    options: object,
    inspect: (value: unknown, options: object) => string,
  ): string {
    return `SortedMap(${this.count}) ${inspect(new Map(this.entries()), options).replace(/^Map\(\d+\) /, "")}`;
  }
}

/**
 * Walks `map`'s entries from `start` until `outside` says a key is past the range. Module
 * functions, not private methods: inside a reducer `this` is immer's proxy of the map, which
 * holds no private fields.
 */
function* walk<K extends SortedMapKey, V>(
  map: SortedMap<K, V>,
  start: Seek,
  reverse: boolean,
  outside?: (key: SortedMapKey) => boolean,
  limit = Number.POSITIVE_INFINITY,
): Generator<[K, V], undefined> {
  let seen = changesOf(map);
  let cursor = new Cursor(rootOf(map), start, reverse);
  for (let n = 0; n < limit && !cursor.done; n++) {
    const key = cursor.key;
    if (outside?.(key)) return;
    yield [key as K, cursor.value];
    if (changesOf(map) === seen) cursor.next();
    else {
      // The tree changed under the walk: find the place after the last key again.
      seen = changesOf(map);
      cursor = new Cursor(rootOf(map), { key, exclusive: true }, reverse);
    }
  }
  return undefined;
}

function assertWritable(map: object, method: string): void {
  if (!isDraft(map) && Object.isFrozen(map))
    throw new TypeError(
      `SortedMap.${method}() on a map of the state outside a reducer: the state is read-only there; change it in a reducer, through its draft`,
    );
}

// Snapshots and the wire carry it as superjson carries a registered class: its fields, and the
// class by name.
registerStateClass(SortedMap, "raftkit.SortedMap", { reportsValues: true });
