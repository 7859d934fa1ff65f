import type { AnyCommand, AnyMachine, AnyQuery, Machine } from "./types.js";

/**
 * Declares a replicated state machine: its initial state, its commands (reducers written
 * against an immer draft, `(draft, arg, ctx) => result`) and its queries
 * (`(state, arg) => result`). Everything a caller uses is inferred from this definition.
 *
 * Obligations: `initial` returns a fresh state each call; commands are deterministic (use
 * `ctx.time` and `ctx.random()`, never the clock or Math.random); arguments, results and the
 * state must survive superjson (Date, Map, Set, BigInt do). A command takes one argument:
 * pass an object for several values.
 */
export function defineMachine<
  S,
  const C extends Record<string, AnyCommand<S>>,
  const Q extends Record<string, AnyQuery<S>>,
>(def: { initial: () => S; commands: C; queries: Q }): Machine<S, C, Q>;
export function defineMachine<S, const C extends Record<string, AnyCommand<S>>>(def: {
  initial: () => S;
  commands: C;
}): Machine<S, C, Record<never, never>>;
export function defineMachine(def: {
  initial: () => unknown;
  commands: Record<string, unknown>;
  queries?: Record<string, unknown>;
}): AnyMachine {
  for (const [kind, table] of [
    ["command", def.commands],
    ["query", def.queries ?? {}],
  ] as const) {
    for (const [name, fn] of Object.entries(table)) {
      if (typeof fn !== "function") throw new TypeError(`${kind} "${name}" must be a function`);
    }
  }
  return { initial: def.initial, commands: def.commands, queries: def.queries ?? {} } as AnyMachine;
}
