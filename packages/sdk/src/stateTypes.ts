import type { ReadonlySortedMap, SortedMap, SortedMapKey } from "./sortedMap/sortedMap.js";

/*
 * immer's Draft and Immutable, with one case more: a SortedMap stays a SortedMap (immer's own
 * types would turn it into a Map, or a ReadonlyMap, and lose `range`, `first` and `last`).
 * The other cases are immer 10's, in its order.
 */

type PrimitiveType = number | string | boolean;
// biome-ignore lint/complexity/noBannedTypes: immer treats every function as atomic
type AtomicObject = Function | Promise<unknown> | Date | RegExp;
// biome-ignore lint/suspicious/noExplicitAny: any key or value type
type WeakReferences = WeakMap<any, any> | WeakSet<any>;

/** What a reducer gets: the state, writable. */
export type StateDraft<T> = T extends PrimitiveType
  ? T
  : T extends AtomicObject
    ? T
    : T extends SortedMap<infer K extends SortedMapKey, infer V>
      ? SortedMap<K, StateDraft<V>>
      : T extends ReadonlyMap<infer K, infer V>
        ? Map<StateDraft<K>, StateDraft<V>>
        : T extends ReadonlySet<infer V>
          ? Set<StateDraft<V>>
          : T extends WeakReferences
            ? T
            : T extends object
              ? { -readonly [P in keyof T]: StateDraft<T[P]> }
              : T;

/** What queries, `state$` and clients get: the state, read-only all the way down. */
export type ReadonlyState<T> = T extends PrimitiveType
  ? T
  : T extends AtomicObject
    ? T
    : T extends ReadonlySortedMap<infer K extends SortedMapKey, infer V>
      ? ReadonlySortedMap<K, ReadonlyState<V>>
      : T extends ReadonlyMap<infer K, infer V>
        ? ReadonlyMap<ReadonlyState<K>, ReadonlyState<V>>
        : T extends ReadonlySet<infer V>
          ? ReadonlySet<ReadonlyState<V>>
          : T extends WeakReferences
            ? T
            : T extends object
              ? { readonly [P in keyof T]: ReadonlyState<T[P]> }
              : T;
