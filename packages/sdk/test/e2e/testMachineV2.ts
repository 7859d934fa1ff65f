import { defineMachine } from "../../src/defineMachine.js";

interface State {
  n: number;
  ids: string[];
  /** Added by version 2: how many ids each version's `add` appended. */
  byVersion?: Record<number, number>;
}

/**
 * The end-to-end counter's next release: supports machine versions 1 and 2. At version 1
 * `add` behaves exactly as testMachine's; from version 2 on it also counts per version, in
 * `byVersion`, which the migration creates with the ids applied before the switch.
 */
export const testMachineV2 = defineMachine({
  version: 2,
  initial: (): State => ({ n: 0, ids: [] }),
  migrate(s, from) {
    if (from === 1) s.byVersion = { 1: s.ids.length };
  },
  commands: {
    add(s, arg: { by: number; id: string }, ctx) {
      s.n += arg.by;
      s.ids.push(arg.id);
      if (ctx.version >= 2) s.byVersion![2] = (s.byVersion![2] ?? 0) + 1;
      return s.n;
    },
    pad(s, bytes: string) {
      s.n += bytes.length > 0 ? 0 : 0;
    },
    stamp: {
      since: 2,
      run(_s, _arg: undefined, ctx) {
        return ctx.version;
      },
    },
  },
  queries: {
    value: (s) => s.n,
    ids: (s) => s.ids,
    byVersion: (s) => s.byVersion ?? null,
  },
});
