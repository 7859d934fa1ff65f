import { defineMachine } from "../../src/defineMachine.js";

/** The simulated key-value store's state: one register per key. */
export interface KvState {
  kv: Record<string, { value: number; writes: number }>;
}

/**
 * The machine every simulated node runs, defined with the SDK as an application would.
 * `put` and `cas` write a register, `get` reads one. `inspect` changes nothing but returns an
 * object holding part of the draft, as a careless reducer might: the SDK must not let that
 * result break the next snapshot. `divergent` builds a broken replica whose `put` stores a
 * different value (a non-deterministic reducer), for the replica-equality check's own test.
 */
export function kvMachine(o: { divergent?: boolean } = {}) {
  const bias = o.divergent ? 1 : 0;
  return defineMachine({
    initial: (): KvState => ({ kv: {} }),
    commands: {
      put(s, a: { key: string; value: number }) {
        const r = s.kv[a.key];
        if (r) {
          r.value = a.value + bias;
          r.writes++;
        } else s.kv[a.key] = { value: a.value + bias, writes: 1 };
      },
      cas(s, a: { key: string; expected: number | null; value: number }) {
        const r = s.kv[a.key];
        if ((r?.value ?? null) !== a.expected) return false;
        if (r) {
          r.value = a.value;
          r.writes++;
        } else s.kv[a.key] = { value: a.value, writes: 1 };
        return true;
      },
      inspect(s, a: { key: string }) {
        return { entry: s.kv[a.key] ?? null };
      },
    },
    queries: {
      get: (s, key: string) => s.kv[key]?.value ?? null,
    },
  });
}

export type KvMachine = ReturnType<typeof kvMachine>;
