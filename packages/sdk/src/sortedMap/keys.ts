/** What a {@link SortedMap} can be keyed by: values every node orders the same way. */
export type SortedMapKey = string | number;

/**
 * `key` as the map stores it, or a TypeError. Numbers sort before strings, numbers by value,
 * strings by UTF-16 code unit (`<`), so the order is the same on every node and in every
 * version. -0 is stored as 0, as `Map` does; NaN has no place in an order and is refused.
 */
export function checkKey(key: unknown): SortedMapKey {
  if (typeof key === "string") return key;
  if (typeof key === "number") {
    if (Number.isNaN(key)) throw new TypeError("a SortedMap key cannot be NaN");
    return key === 0 ? 0 : key;
  }
  throw new TypeError(
    `a SortedMap key must be a string or a number, not ${key === null ? "null" : typeof key}`,
  );
}

/** Negative, zero or positive as `a` sorts before, with or after `b`. */
export function compareKeys(a: SortedMapKey, b: SortedMapKey): number {
  if (typeof a === typeof b) return a < b ? -1 : a > b ? 1 : 0;
  return typeof a === "number" ? -1 : 1;
}

/** The first index in sorted `keys` whose key is ≥ `key` (`keys.length` when none is). */
export function lowerBound(keys: readonly SortedMapKey[], key: SortedMapKey): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index in sorted `keys` whose key is > `key` (`keys.length` when none is). */
export function upperBound(keys: readonly SortedMapKey[], key: SortedMapKey): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid]!, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
