import { defineMachine } from "@raftkit/sdk";

/** The replicated counter: every node applies the same adds in the same order. */
export const counter = defineMachine({
  initial: () => ({ value: 0, adds: 0 }),
  commands: {
    add(s, by: number) {
      if (!Number.isSafeInteger(by)) throw new RangeError(`add takes a whole number, got ${by}`);
      s.value += by;
      s.adds += 1;
      return s.value;
    },
    reset(s) {
      s.value = 0;
    },
  },
  queries: {
    value: (s) => s.value,
    adds: (s) => s.adds,
  },
});

/** Import this type on the client side: `createClient<Counter>(…)` needs no server code. */
export type Counter = typeof counter;
