import { defineMachine } from "../src/defineMachine.js";

/** The benchmark's key-value machine: 64-byte values under random keys, as in the etcd anchor. */
export const kv = defineMachine({
  initial: () => ({ data: new Map<string, string>() }),
  commands: {
    put(s, arg: { key: string; value: string }) {
      s.data.set(arg.key, arg.value);
    },
  },
  queries: {
    get: (s, key: string) => s.data.get(key) ?? null,
  },
});
