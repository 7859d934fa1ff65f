import { defineMachine } from "../src/defineMachine.js";
import { SortedMap } from "../src/sortedMap/sortedMap.js";
import { keyValueMachine } from "./benchMachine.js";

/** The bucket of a key: `buckets` buckets, from a cheap string hash (FNV-1a). */
export function bucketOf(key: string, buckets = 256): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return (h >>> 0) % buckets;
}

/** One Map of values: immer copies it whole for every batch that changes it. */
export const mapKv = keyValueMachine(() => new Map());

/** One SortedMap of values: a batch copies the tree nodes on the way to the keys it changes. */
export const sortedKv = keyValueMachine(() => new SortedMap());

/** One plain object of values, keyed like a Map. */
export const objectKv = defineMachine({
  initial: () => ({ data: {} as Record<string, string> }),
  commands: {
    put(s, arg: { key: string; value: string }) {
      s.data[arg.key] = arg.value;
    },
  },
  queries: { get: (s, key: string) => s.data[key] ?? null },
});

/** The same values in 256 bucket Maps: a batch copies the buckets it touches, not all values. */
export const shardedKv = defineMachine({
  initial: () => ({
    data: new Map<number, Map<string, string>>(Array.from({ length: 256 }, (_, b) => [b, new Map()])),
  }),
  commands: {
    put(s, arg: { key: string; value: string }) {
      s.data.get(bucketOf(arg.key))!.set(arg.key, arg.value);
    },
  },
  queries: { get: (s, key: string) => s.data.get(bucketOf(key))!.get(key) ?? null },
});

/** The state layouts the snapshot bench compares, by name. */
export const layouts = { SortedMap: sortedKv, Map: mapKv, object: objectKv, "256 Maps": shardedKv } as const;
export type LayoutName = keyof typeof layouts;
