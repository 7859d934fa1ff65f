import { z } from "zod";
import { defineMachine } from "../../src/defineMachine.js";

/**
 * The machine the end-to-end tests run: a counter plus a log of applied request ids, so a test
 * can prove every acknowledged write is there exactly once; and the ordinary mistakes of issue
 * #10 (a lock table with a validated input, reducers that leak a function, return a Promise or
 * read Math.random), so a test can prove they cannot hurt the cluster.
 */
export const testMachine = defineMachine({
  initial: () => ({ n: 0, ids: [] as string[], locks: {} as Record<string, { expiresAt: number }> }),
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
    acquire: {
      input: z.object({ name: z.string().min(1), ttlMs: z.number().int().positive() }),
      run(s, a, ctx) {
        s.locks[a.name] = { expiresAt: ctx.time.getTime() + a.ttlMs };
        return s.locks[a.name]!.expiresAt;
      },
    },
    leakFunction(s) {
      s.n += 1;
      (s.locks as Record<string, unknown>).callback = { expiresAt: () => 0 };
    },
    returnPromise(s) {
      s.n += 1;
      return Promise.resolve(s.n) as unknown as number;
    },
    rollDice(s) {
      s.n += Math.floor(Math.random() * 6);
    },
  },
  queries: {
    value: (s) => s.n,
    ids: (s) => s.ids,
    locks: (s) => s.locks,
  },
});
