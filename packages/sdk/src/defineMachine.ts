import type { StandardSchemaV1 } from "@standard-schema/spec";
import { assertMachineVersion, commandSince } from "./machineVersion.js";
import { assertOperationShape } from "./operations.js";
import type { ReadonlyState, StateDraft } from "./stateTypes.js";
import type { AnyMachine, CommandContext, Machine, Migrate } from "./types.js";

/** The readable compile error for a reducer that returns a promise (an `async` reducer). */
interface SynchronousReducer {
  "a reducer must be synchronous (not async, no Promise): it runs inside the state machine, once per node": never;
}
/** The readable compile error for a reducer or query with more parameters than raftkit passes. */
interface OneArgument {
  "a command is (draft, arg, ctx) and a query (state, arg): pass several values in one object": never;
}

/** True for a Promise (or any thenable); false for `never` (a reducer that always throws). */
type IsPromise<R> = [R] extends [never] ? false : [R] extends [PromiseLike<unknown>] ? true : false;

// biome-ignore lint/suspicious/noExplicitAny: matching any function shape
type AnyFn = (...a: any[]) => any;

/**
 * What each command must be: a reducer, or `{ input, run }` whose `run` gets the schema's
 * output. `$Inputs` holds the input schemas (inferred from `input`, so `run`'s argument is
 * typed from it); the reducer forms are checked against `$Commands`, the literal itself.
 * @internal
 */
export type CommandDefs<S, $Inputs, $Commands> = {
  [K in keyof $Inputs]: $Inputs[K] extends StandardSchemaV1
    ? {
        input: $Inputs[K];
        since?: number;
        run: (
          draft: StateDraft<S>,
          arg: StandardSchemaV1.InferOutput<$Inputs[K]>,
          ctx: CommandContext,
        ) => unknown;
      }
    :
        | ((draft: StateDraft<S>, arg: never, ctx: CommandContext) => unknown)
        | { since: number; run: (draft: StateDraft<S>, arg: never, ctx: CommandContext) => unknown };
} & {
  [K in keyof $Commands]: ($Commands[K] extends { run: infer F } ? F : $Commands[K]) extends infer F
    ? F extends AnyFn
      ? IsPromise<ReturnType<F>> extends true
        ? SynchronousReducer
        : // biome-ignore lint/suspicious/noExplicitAny: any argument
          F extends (draft: any, arg: any, ctx: CommandContext) => unknown
          ? unknown
          : OneArgument
      : unknown
    : never;
};

/** What each query must be: a function of the state, or `{ input, run }`; see {@link CommandDefs}. @internal */
export type QueryDefs<S, $Inputs, $Queries> = {
  [K in keyof $Inputs]: $Inputs[K] extends StandardSchemaV1
    ? {
        input: $Inputs[K];
        run: (state: ReadonlyState<S>, arg: StandardSchemaV1.InferOutput<$Inputs[K]>) => unknown;
      }
    : (state: ReadonlyState<S>, arg: never) => unknown;
} & {
  [K in keyof $Queries]: ($Queries[K] extends { run: infer F } ? F : $Queries[K]) extends infer F
    ? F extends AnyFn
      ? // biome-ignore lint/suspicious/noExplicitAny: any argument
        F extends (state: any, arg: any) => unknown
        ? unknown
        : OneArgument
      : unknown
    : never;
};

/**
 * Declares a replicated state machine: its initial state, its commands and its queries.
 * Everything a caller uses is inferred from this definition.
 *
 * A command is a reducer written against an immer draft, `(draft, arg, ctx) => result`, or
 * `{ input: schema, run: (draft, arg, ctx) => result }` with any Standard Schema (zod,
 * valibot, arktype): the argument is then validated on the node that receives the call,
 * before anything is proposed, and `run` gets the schema's output. A query is
 * `(state, arg) => result` or `{ input, run }` alike.
 *
 * Obligations: `initial` returns a fresh state each call; reducers are synchronous and
 * deterministic (use `ctx.time` and `ctx.random()`: the clock, Math.random and timers throw
 * while a reducer runs); arguments, results and the state must survive superjson (Date,
 * Map, Set, BigInt do; functions, symbols and class instances do not). A command takes one
 * argument: pass an object for several values. Throws a TypeError naming the command for an
 * async or generator reducer, or one that declares more parameters than raftkit passes.
 *
 * Versions (see docs/upgrading.md): `version` is the highest machine version this code can
 * apply (default 1). The cluster applies at one version, recorded in its state, and moves
 * only when `cluster.upgradeMachine()` is called once every member runs code that supports
 * the next one. Reducers read it as `ctx.version` and must keep the older behaviour for it;
 * a command that is new in version N is declared `{ since: N, run }` (or with `input`).
 * `migrate(draft, fromVersion)` upcasts the state from `fromVersion` to `fromVersion + 1` at
 * the switch, on every node; deterministic like a reducer (default: the state as it is).
 */
export function defineMachine<
  S,
  const $CommandInputs extends Record<string, unknown>,
  const C extends Record<string, unknown>,
  const $QueryInputs extends Record<string, unknown> = Record<never, never>,
  const Q extends Record<string, unknown> = Record<never, never>,
>(def: {
  version?: number;
  migrate?: Migrate<S>;
  initial: () => S;
  commands: C & CommandDefs<S, $CommandInputs, C>;
  queries?: Q & QueryDefs<S, $QueryInputs, Q>;
}): Machine<S, C, Q>;
export function defineMachine(def: {
  version?: number;
  migrate?: Migrate<unknown>;
  initial: () => unknown;
  commands: Record<string, unknown>;
  queries?: Record<string, unknown>;
}): AnyMachine {
  if (typeof def.initial !== "function")
    throw new TypeError("initial must be a function returning the state");
  const version = def.version ?? 1;
  assertMachineVersion("version", version);
  if (def.migrate !== undefined && typeof def.migrate !== "function")
    throw new TypeError("migrate must be a function (draft, fromVersion) => new state or nothing");
  for (const [name, op] of Object.entries(def.commands)) {
    assertOperationShape("command", name, op);
    const since = commandSince(op);
    if (since > version)
      throw new TypeError(
        `command "${name}" is since version ${since}, above the machine's version ${version}`,
      );
  }
  for (const [name, op] of Object.entries(def.queries ?? {})) assertOperationShape("query", name, op);
  return {
    version,
    migrate: def.migrate ?? (() => undefined),
    initial: def.initial,
    commands: def.commands,
    queries: def.queries ?? {},
  } as AnyMachine;
}
