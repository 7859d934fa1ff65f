import { defineMachine } from "../../src/defineMachine.js";
import { SortedMap } from "../../src/sortedMap/sortedMap.js";

interface Register {
  value: number;
  writes: number;
}

/** The simulated key-value store's state: one register per key, in a plain object or a SortedMap. */
export interface KvState {
  kv: Record<string, Register> | SortedMap<string, Register>;
  /**
   * With the registers in a SortedMap: the last writes, `<key>/<writes>` → value, the oldest
   * dropped past 150 (so that the tree splits, merges and loses its first entries).
   */
  history?: SortedMap<string, number>;
}

type Registers = KvState["kv"];
const registerAt = (kv: Registers, key: string): Register | undefined =>
  kv instanceof SortedMap ? kv.get(key) : kv[key];
function addRegister(kv: Registers, key: string, r: Register): void {
  if (kv instanceof SortedMap) kv.set(key, r);
  else kv[key] = r;
}
function recordWrite(s: KvState, key: string, r: Register): void {
  if (!s.history) return;
  s.history.set(`${key}/${String(r.writes).padStart(6, "0")}`, r.value);
  if (s.history.size > 150) s.history.delete(s.history.first()![0]);
}

/**
 * The machine every simulated node runs, defined with the SDK as an application would.
 * `put` and `cas` write a register, `get` reads one. `inspect` changes nothing but returns an
 * object holding part of the draft, as a careless reducer might: the SDK must not let that
 * result break the next snapshot. `divergent` builds a broken replica whose `put` stores a
 * different value (a non-deterministic reducer), for the replica-equality check's own test.
 * `sorted` keeps the registers in a SortedMap (changed in place through its drafts, and carried
 * by snapshots as a class).
 */
export function kvMachine(o: { divergent?: boolean; sorted?: boolean } = {}) {
  const bias = o.divergent ? 1 : 0;
  return defineMachine({
    initial: (): KvState => (o.sorted ? { kv: new SortedMap(), history: new SortedMap() } : { kv: {} }),
    commands: {
      put(s, a: { key: string; value: number }) {
        const r = registerAt(s.kv, a.key);
        if (r) {
          r.value = a.value + bias;
          r.writes++;
        } else addRegister(s.kv, a.key, { value: a.value + bias, writes: 1 });
        recordWrite(s, a.key, registerAt(s.kv, a.key)!);
      },
      cas(s, a: { key: string; expected: number | null; value: number }) {
        const r = registerAt(s.kv, a.key);
        if ((r?.value ?? null) !== a.expected) return false;
        if (r) {
          r.value = a.value;
          r.writes++;
        } else addRegister(s.kv, a.key, { value: a.value, writes: 1 });
        recordWrite(s, a.key, registerAt(s.kv, a.key)!);
        return true;
      },
      inspect(s, a: { key: string }) {
        return { entry: registerAt(s.kv, a.key) ?? null };
      },
    },
    queries: {
      get: (s, key: string) =>
        (s.kv instanceof SortedMap ? s.kv.get(key) : (s.kv as Record<string, Register>)[key])?.value ?? null,
    },
  });
}

export type KvMachine = ReturnType<typeof kvMachine>;
