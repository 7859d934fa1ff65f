import { defineMachine } from "../src/defineMachine.js";

/** The smallest useful machine, shared by tests and benches that need any machine at all: `add` returns the new total. */
export const counter = defineMachine({
  initial: () => ({ n: 0 }),
  commands: {
    add(s, by: number) {
      s.n += by;
      return s.n;
    },
  },
  queries: { value: (s) => s.n },
});
