import { defineMachine } from "../src/defineMachine.js";
import { SortedMap } from "../src/sortedMap/sortedMap.js";

/** The benchmark's key-value machine over one collection of values, made by `create`. */
export function keyValueMachine(create: () => SortedMap<string, string> | Map<string, string>) {
  return defineMachine({
    initial: () => ({ data: create() }),
    commands: {
      put(s, arg: { key: string; value: string }) {
        s.data.set(arg.key, arg.value);
      },
    },
    queries: {
      get: (s, key: string) => s.data.get(key) ?? null,
    },
  });
}

/**
 * The benchmark's key-value machine: 64-byte values under random keys, as in the etcd anchor.
 * The values sit in a SortedMap, the collection the docs recommend for a large keyed state
 * (a put copies a few tree nodes). BENCH_STATE=map keeps them in a plain `Map` instead, which
 * immer copies whole on every batch that changes it: the cost a user pays who keeps 10,000
 * entries in one Map.
 */
export const kv = keyValueMachine(() => (process.env.BENCH_STATE === "map" ? new Map() : new SortedMap()));
