import type { Draft, Immutable } from "immer";

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
}

/** A command: changes the draft, may return a result. Argument and result must survive superjson. */
// biome-ignore lint/suspicious/noExplicitAny: the argument type is inferred per command
export type AnyCommand<S> = (draft: Draft<S>, arg: any, ctx: CommandContext) => unknown;
/** A query: reads the state, returns a result. */
// biome-ignore lint/suspicious/noExplicitAny: the argument type is inferred per query
export type AnyQuery<S> = (state: Immutable<S>, arg: any) => unknown;

/** A replicated state machine declared with {@link defineMachine}. */
export interface Machine<S, C extends Record<string, AnyCommand<S>>, Q extends Record<string, AnyQuery<S>>> {
  readonly initial: () => S;
  readonly commands: C;
  readonly queries: Q;
}

// biome-ignore lint/suspicious/noExplicitAny: the widest machine, for constraints
export type AnyMachine = Machine<any, Record<string, any>, Record<string, any>>;

/**
 * The call signature's parameters for a reducer or query: the draft/state is supplied by
 * raftkit, as is a command's trailing context.
 * NB: `[by?: number] extends []` is true, hence the length test first.
 */
// biome-ignore lint/suspicious/noExplicitAny: matching any function shape
export type ArgsOf<F> = F extends (s: any, ...rest: infer R) => any
  ? R["length"] extends 0
    ? []
    : R extends [infer A, ...unknown[]]
      ? undefined extends A
        ? [arg?: A]
        : [arg: A]
      : R extends [(infer A)?, ...unknown[]]
        ? [arg?: A]
        : []
  : never;

/** What a reducer or query returns, once awaited. `infer`, not ReturnType, so no `any` sneaks in. */
// biome-ignore lint/suspicious/noExplicitAny: matching any function shape
export type ResultOf<F> = F extends (...a: any[]) => infer R ? Awaited<R> : never;

export type StateOf<M extends AnyMachine> = M extends Machine<infer S, infer _C, infer _Q> ? S : never;

/** How fresh a query's answer must be. */
export type Consistency = "linearizable" | "lease" | "stale";

export interface QueryOptions {
  /**
   * "linearizable" (default): confirms with the leader (ReadIndex) and waits to apply.
   * "lease": the leader answers from its lease without a round trip; elsewhere, or without a
   * valid lease, as "linearizable". Assumes every clock runs within ±`leaseMaxClockDrift` of
   * real time (see RaftNode.leaseRead); a read past that assumption may be stale.
   * "stale": answers from this node's state at once, possibly behind.
   */
  consistency?: Consistency;
  timeoutMs?: number;
}

export interface CommandOptions {
  timeoutMs?: number;
}

/** `node.commands`: one method per command, typed from its reducer. */
export type Commands<M extends AnyMachine> = {
  [K in keyof M["commands"] & string]: (
    ...args: ArgsOf<M["commands"][K]>
  ) => Promise<ResultOf<M["commands"][K]>>;
};

/** `node.query`: one method per query, typed from its function; options come after the argument. */
export type Queries<M extends AnyMachine> = {
  [K in keyof M["queries"] & string]: (
    ...args: [...ArgsOf<M["queries"][K]>, options?: QueryOptions]
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
