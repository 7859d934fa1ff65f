import { defineMachine } from "../../src/defineMachine.js";

/**
 * The machine the end-to-end tests run: a counter plus a log of applied request ids, so a test
 * can prove every acknowledged write is there exactly once.
 */
export const testMachine = defineMachine({
  initial: () => ({ n: 0, ids: [] as string[] }),
  commands: {
    add(s, arg: { by: number; id: string }) {
      s.n += arg.by;
      s.ids.push(arg.id);
      return s.n;
    },
    pad(s, bytes: string) {
      // Grows the log quickly for compaction tests; keeps the state small.
      s.n += bytes.length > 0 ? 0 : 0;
    },
  },
  queries: {
    value: (s) => s.n,
    ids: (s) => s.ids,
  },
});
