import { defineMachine } from "@raftkit/sdk";

/** A replicated counter that remembers when each add was applied (in leader time). */
export const counter = defineMachine({
  initial: () => ({ n: 0, last: null as Date | null }),
  commands: {
    add(s, by: number, ctx) {
      if (!Number.isSafeInteger(by)) throw new RangeError(`add takes a whole number, got ${by}`);
      s.n += by;
      s.last = ctx.time; // never new Date(): every node must compute the same state
      return s.n;
    },
    reset(s) {
      s.n = 0;
    },
  },
  queries: {
    value: (s) => s.n,
    last: (s) => s.last,
  },
});

/** What clients import (as a type only: no server code reaches them). */
export type Counter = typeof counter;
