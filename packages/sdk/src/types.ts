import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { ReadToken, WithToken } from "./readToken.js";
import type { ReadonlyState, StateDraft } from "./stateTypes.js";

/**
 * What a command knows besides its argument. Reducers must use these instead of
 * `Date.now()` or `Math.random()`, so every node computes the same state.
 */
export interface CommandContext {
  /** The log index of this command's entry. */
  readonly index: number;
  /** The term in which it was proposed. */
  readonly term: number;
  /** When it was proposed (never earlier than any command before it in the log). */
  readonly time: Date;
  /** A random number in [0, 1), seeded from the entry: the same on every node. */
  random(): number;
  /**
   * The machine version the log is at for this entry (1 until `cluster.upgradeMachine()`):
   * code that supports several versions must behave as `version` says, not as its newest.
   */
  readonly version: number;
}

/** A reducer: changes the draft, may return a result. Argument and result must survive superjson. */
// biome-ignore lint/suspicious/noExplicitAny: the argument type is inferred per command
export type AnyReducer<S> = (draft: StateDraft<S>, arg: any, ctx: CommandContext) => unknown;
/** A query function: reads the state, returns a result. */
// biome-ignore lint/suspicious/noExplicitAny: the argument type is inferred per query
export type AnyQueryFn<S> = (state: ReadonlyState<S>, arg: any) => unknown;

/**
 * A command declared with an input schema (any Standard Schema: zod ≥ 3.24, valibot,
 * arktype): the node that receives a call validates its argument before proposing it, and
 * `run` gets the schema's output.
 */
export interface CommandWithInput<S, TSchema extends StandardSchemaV1> {
  readonly input: TSchema;
  /** The machine version that introduced the command; see {@link CommandSince}. */
  readonly since?: number;
  readonly run: (
    draft: StateDraft<S>,
    arg: StandardSchemaV1.InferOutput<TSchema>,
    ctx: CommandContext,
  ) => unknown;
}
/**
 * A command that exists from machine version `since` on: while the log is at an older
 * version, calling it fails with CommandNotAvailableError and nothing is proposed.
 */
export interface CommandSince<S> {
  readonly since: number;
  // biome-ignore lint/suspicious/noExplicitAny: the argument type is inferred per command
  readonly run: (draft: StateDraft<S>, arg: any, ctx: CommandContext) => unknown;
}
/** A query declared with an input schema; see {@link CommandWithInput}. */
export interface QueryWithInput<S, TSchema extends StandardSchemaV1> {
  readonly input: TSchema;
  readonly run: (state: ReadonlyState<S>, arg: StandardSchemaV1.InferOutput<TSchema>) => unknown;
}

/** A command: a reducer, `{ since, run }` or `{ input, since?, run }`. */
// biome-ignore lint/suspicious/noExplicitAny: any schema
export type AnyCommand<S> = AnyReducer<S> | CommandSince<S> | CommandWithInput<S, any>;
/** A query: a function, or `{ input, run }`. */
// biome-ignore lint/suspicious/noExplicitAny: any schema
export type AnyQuery<S> = AnyQueryFn<S> | QueryWithInput<S, any>;

/**
 * Upcasts the state by one machine version, from `fromVersion` to `fromVersion + 1`: change
 * the draft, or return a new state. Deterministic, like a reducer.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a migration that only changes the draft returns nothing
export type Migrate<S> = (draft: StateDraft<S>, fromVersion: number) => S | undefined | void;

/** A replicated state machine declared with {@link defineMachine}. */
export interface Machine<S, C extends Record<string, unknown>, Q extends Record<string, unknown>> {
  /** The highest machine version this code can apply (1 when not declared). */
  readonly version: number;
  /** Upcasts the state when the cluster switches versions (identity when not declared). */
  readonly migrate: Migrate<S>;
  readonly initial: () => S;
  readonly commands: C;
  readonly queries: Q;
}

// biome-ignore lint/suspicious/noExplicitAny: the widest machine, for constraints
export type AnyMachine = Machine<any, Record<string, any>, Record<string, any>>;

/** The caller's parameter for an argument of type `A`: optional when `A` admits undefined. */
type ArgParam<A> = undefined extends A ? [arg?: A] : [arg: A];

/**
 * The call signature's parameters for a command or query: the draft/state is supplied by
 * raftkit, as is a command's trailing context. With an input schema, the caller passes the
 * schema's input type.
 * NB: `[by?: number] extends []` is true, hence the length test first.
 */
// biome-ignore lint/suspicious/noExplicitAny: matching any function shape
export type ArgsOf<F> = F extends { input: infer $Schema extends StandardSchemaV1; run: any }
  ? ArgParam<StandardSchemaV1.InferInput<$Schema>>
  : F extends { run: infer $Run }
    ? ArgsOf<$Run>
    : // biome-ignore lint/suspicious/noExplicitAny: matching any function shape
      F extends (s: any, ...rest: infer R) => any
      ? R["length"] extends 0
        ? []
        : R extends [infer A, ...unknown[]]
          ? ArgParam<A>
          : R extends [(infer A)?, ...unknown[]]
            ? [arg?: A]
            : []
      : never;

/** The caller's parameters: the argument, then options. A call without argument passes `undefined` before options. */
export type ParamsWithOptions<F, TOptions> = ArgsOf<F>["length"] extends 0
  ? [arg?: undefined, options?: TOptions]
  : [...ArgsOf<F>, options?: TOptions];

/** What a reducer or query returns, once awaited. `infer`, not ReturnType, so no `any` sneaks in. */
// biome-ignore lint/suspicious/noExplicitAny: matching any function shape
export type ResultOf<F> = F extends { run: (...a: any[]) => infer R }
  ? Awaited<R>
  : // biome-ignore lint/suspicious/noExplicitAny: matching any function shape
    F extends (...a: any[]) => infer R
    ? Awaited<R>
    : never;

export type StateOf<M extends AnyMachine> = M extends Machine<infer S, infer _C, infer _Q> ? S : never;

/** How fresh a query's answer must be. */
export type Consistency = "linearizable" | "lease" | "session" | "stale";

export interface QueryOptions {
  /**
   * "linearizable" (default): confirms with the leader (ReadIndex) and waits to apply.
   * "lease": the leader answers from its lease without a round trip; elsewhere, without a
   * valid lease, or unless the members run with `raft: { leaseReads: true }` (off by default:
   * it delays elections after restarts, see RaftNodeOptions.leaseReads), as "linearizable". Assumes every clock runs within ±`leaseMaxClockDrift` of
   * real time (see RaftNode.leaseRead); a read past that assumption may be stale.
   * "session": any node answers, without a leader round trip, once it has applied `after`
   * (read-your-writes and monotonic reads for whoever holds the token; not linearizable).
   * "stale": answers from this node's state at once, possibly behind.
   */
  consistency?: Consistency;
  /** For "session": a {@link ReadToken} from an earlier command's or read's answer; the read waits until this node applied it. */
  after?: ReadToken;
  timeoutMs?: number;
}

export interface CommandOptions {
  /** Overall deadline of this command, retries included, in ms: finite, > 0, at most one day. */
  timeoutMs?: number;
}

/**
 * `node.commands`: one method per command, typed from its reducer or input schema, taking
 * the argument and then options (`add(5, { timeoutMs: 1_000 })`; without an argument,
 * `reset(undefined, { timeoutMs: 1_000 })`), as tRPC's `mutate(input, opts)`.
 */
export type Commands<M extends AnyMachine> = {
  [K in keyof M["commands"] & string]: (
    ...args: ParamsWithOptions<M["commands"][K], CommandOptions>
  ) => Promise<ResultOf<M["commands"][K]>>;
};

/**
 * `node.query`: one method per query, typed from its function or input schema, taking the
 * argument and then options (`top(5, { consistency: "stale" })`; without an argument,
 * `value(undefined, { consistency: "stale" })`), as tRPC's `query(input, opts)`.
 */
export type Queries<M extends AnyMachine> = {
  [K in keyof M["queries"] & string]: (
    ...args: ParamsWithOptions<M["queries"][K], QueryOptions>
  ) => Promise<ResultOf<M["queries"][K]>>;
};

/** One applied command, as `commits$` reports it. */
export type CommitEvent<M extends AnyMachine> = {
  [K in keyof M["commands"] & string]: {
    name: K;
    args: ArgsOf<M["commands"][K]>;
    result: ResultOf<M["commands"][K]> | undefined;
    error: { name: string; message: string } | undefined;
    index: number;
    term: number;
    time: Date;
  };
}[keyof M["commands"] & string];

/** `withToken.commands`: as {@link Commands}, each answering with its result and the command's {@link ReadToken}. */
export type CommandsWithToken<M extends AnyMachine> = {
  [K in keyof M["commands"] & string]: (
    ...args: ParamsWithOptions<M["commands"][K], CommandOptions>
  ) => Promise<WithToken<ResultOf<M["commands"][K]>>>;
};

/** `withToken.query`: as {@link Queries}, each answering with its result and the serving node's commit index as a {@link ReadToken}. */
export type QueriesWithToken<M extends AnyMachine> = {
  [K in keyof M["queries"] & string]: (
    ...args: ParamsWithOptions<M["queries"][K], QueryOptions>
  ) => Promise<WithToken<ResultOf<M["queries"][K]>>>;
};

/** The calls of a node or client that also answer with a {@link ReadToken}. */
export interface TokenCalls<M extends AnyMachine> {
  readonly commands: CommandsWithToken<M>;
  readonly query: QueriesWithToken<M>;
}
