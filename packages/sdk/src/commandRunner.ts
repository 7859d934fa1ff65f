import {
  type Clock,
  LeaderChangedError,
  ProposalDroppedError,
  ProposalLostError,
  type RaftNode,
  StoppedError,
  systemClock,
  TimeoutError,
} from "@raftkit/core";
import { CallerSession } from "./callerSession.js";
import { checkCommandOptions, checkQueryOptions } from "./callOptions.js";
import { encodeValue } from "./codec.js";
import { type CommandOutcome, type CommandPayload, SYSTEM_PREFIX } from "./commandLog.js";
import { CommandError, QueryError, SessionExpiredError, UnknownOperationError } from "./errors.js";
import type { MachineNodeOptions } from "./machineNode.js";
import { commandSince } from "./machineVersion.js";
import { CommandNotAvailableError } from "./machineVersionErrors.js";
import { validateInput } from "./operations.js";
import { type WithToken, waitApplied } from "./readToken.js";
import type { ReplicatedMachine } from "./replicatedMachine.js";
import type { AnyMachine, CommandOptions, Consistency, QueryOptions } from "./types.js";

const RETRY_ATTEMPT_MS = 3_000;

/**
 * Runs commands and queries of a machine on a {@link RaftNode}. Commands carry this node's
 * session and a sequence number, so retrying one (after a timeout or leader change) is
 * applied at most once and answers with the first result. When the cluster answers that the
 * session expired, a command that was not sent before runs again under a new session; one
 * that was sent before fails with {@link SessionExpiredError}.
 *
 * @internal Use startNode.
 */
export class CommandRunner<M extends AnyMachine> {
  readonly #session: CallerSession;
  readonly #raft: RaftNode;
  readonly #machine: ReplicatedMachine<M>;
  readonly #commandTimeoutMs: number;
  readonly #queryTimeoutMs: number;
  readonly #clock: Clock;
  readonly #onRead: ((consistency: Consistency) => void) | undefined;
  /** This node's applied index as its status last said: never ahead of the state queries see (it may lag it). */
  #applied = 0;
  /** Throws when this node must not answer queries (it diverged). */
  readGate: () => void = () => {};

  constructor(raft: RaftNode, machine: ReplicatedMachine<M>, o: MachineNodeOptions) {
    this.#clock = o.clock ?? systemClock;
    const clock = this.#clock;
    this.#session = new CallerSession(() => clock.now(), o.newSessionId);
    this.#raft = raft;
    this.#machine = machine;
    this.#commandTimeoutMs = o.commandTimeoutMs ?? 30_000;
    this.#queryTimeoutMs = o.queryTimeoutMs ?? 10_000;
    this.#onRead = o.onRead;
    raft.appliedIndex$.subscribe((i) => {
      this.#applied = i;
    });
  }

  /** This runner's current session id (a new one once the previous one expired). */
  get session(): string {
    return this.#session.id;
  }

  /**
   * Runs command `name` with `arg` under this runner's session. The argument is validated
   * against the command's input schema first (throws {@link ValidationError}); what is
   * proposed is the schema's output.
   */
  async command(name: string, arg: unknown, opts: CommandOptions = {}): Promise<unknown> {
    return (await this.commandWithToken(name, arg, opts)).result;
  }

  /** As {@link command}, answering with the command's log index as a {@link ReadToken} too. */
  async commandWithToken(name: string, arg: unknown, opts: CommandOptions = {}): Promise<WithToken<unknown>> {
    const input = await this.#validated(name, arg, opts);
    return this.#inSession(name, input, opts);
  }

  /**
   * Runs one of raftkit's own commands (`SYSTEM_PREFIX`) under this runner's session, with the
   * session's next sequence number: applied exactly once, like the machine's commands.
   *
   * @internal
   */
  async system(name: string, arg: unknown, opts: CommandOptions = {}): Promise<unknown> {
    if (!name.startsWith(SYSTEM_PREFIX)) throw new TypeError(`${name} is not a system command`);
    return (await this.#inSession(name, arg, opts)).result;
  }

  /** Takes the session's next seq; renews the session once if it expired before this command was ever sent. */
  async #inSession(name: string, arg: unknown, opts: CommandOptions): Promise<WithToken<unknown>> {
    for (let renewed = false; ; renewed = true) {
      const call = this.#session.begin();
      try {
        return await this.#propose(name, arg, call.session, call.seq, call.lowest, opts);
      } catch (e) {
        if (!(e instanceof SessionExpiredError) || e.retried || renewed) throw e;
        this.#session.renew(call.session);
      } finally {
        call.done();
      }
    }
  }

  /**
   * Proposes a command with a given session and sequence number, retrying through leader
   * changes until it is applied or the deadline passes. Used for clients' commands arriving
   * over HTTP. Throws {@link SessionExpiredError} if the session expired: the caller decides
   * whether the command may go again under a new session.
   */
  async runSequenced(
    name: string,
    arg: unknown,
    session: string,
    seq: number,
    lowest: () => number,
    opts: CommandOptions = {},
  ): Promise<unknown> {
    return (await this.runSequencedWithToken(name, arg, session, seq, lowest, opts)).result;
  }

  /** As {@link runSequenced}, answering with the command's log index as a {@link ReadToken} too. */
  async runSequencedWithToken(
    name: string,
    arg: unknown,
    session: string,
    seq: number,
    lowest: () => number,
    opts: CommandOptions = {},
  ): Promise<WithToken<unknown>> {
    const input = await this.#validated(name, arg, opts);
    return this.#propose(name, input, session, seq, lowest, opts);
  }

  /** The command's argument as it will be proposed; throws before anything is proposed if it or the options are wrong. */
  async #validated(name: string, arg: unknown, opts: CommandOptions): Promise<unknown> {
    const commands = this.#machine.machine.commands;
    if (!Object.hasOwn(commands, name))
      throw new UnknownOperationError("command", name, Object.keys(commands));
    const since = commandSince(commands[name]);
    if (since > this.#machine.version) throw new CommandNotAvailableError(name, since, this.#machine.version);
    checkCommandOptions(name, opts);
    return validateInput("command", name, commands[name], arg);
  }

  async #propose(
    name: string,
    arg: unknown,
    session: string,
    seq: number,
    lowest: () => number,
    opts: CommandOptions,
  ): Promise<WithToken<unknown>> {
    const timeoutMs = opts.timeoutMs ?? this.#commandTimeoutMs;
    const deadline = this.#clock.monotonic() + timeoutMs;
    // The entry is encoded once per attempt (its lowest and time change); the first encoding
    // checks the argument before anything is proposed.
    let payload = this.#entry(name, arg, session, seq, lowest());
    let mayHaveBeenApplied = false;
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - this.#clock.monotonic();
      if (remaining <= 0) {
        throw new TimeoutError(this.#raft.id, `command "${name}"`, timeoutMs, mayHaveBeenApplied);
      }
      if (attempt > 0) payload = this.#entry(name, arg, session, seq, lowest());
      let outcome: CommandOutcome;
      let index: number;
      try {
        const applied = await this.#raft.propose(payload, {
          timeoutMs: Math.min(remaining, RETRY_ATTEMPT_MS),
        });
        outcome = applied.result as CommandOutcome;
        index = applied.index;
      } catch (e) {
        // Forwarded to a leader that was replaced: go again at once, to the new one.
        if (e instanceof LeaderChangedError) {
          mayHaveBeenApplied = true;
          continue;
        }
        if (e instanceof TimeoutError) mayHaveBeenApplied = true;
        else if (!(e instanceof ProposalDroppedError || e instanceof ProposalLostError)) throw e;
        // Same session and seq: if an earlier attempt did commit, this one answers with its result.
        await this.#backOff(Math.min(500, 20 * 2 ** Math.min(attempt, 5)));
        continue;
      }
      const r = outcome.result;
      // A retry answered with the first result has a later index: still a valid token.
      if (r.ok) return { result: r.value, token: index };
      if (r.code === "SESSION_EXPIRED")
        throw new SessionExpiredError(name, session, seq, r.message, mayHaveBeenApplied);
      throw new CommandError(name, r.name, r.message, r.code);
    }
  }

  /** The log entry of a command, encoded. */
  #entry(name: string, arg: unknown, session: string, seq: number, lowest: number): Uint8Array {
    const payload: CommandPayload = { name, arg, session, seq, lowest, at: this.#clock.now() };
    return encodeValue(payload, `the argument of command "${name}"`);
  }

  /**
   * Waits `ms`, or less if a new leader becomes known meanwhile: a proposal dropped during a
   * leader change (no leader, a transfer under way) goes again as soon as there is one.
   */
  #backOff(ms: number): Promise<void> {
    // The leader as leader$ last told it (its first, synchronous emission): comparing with
    // status() instead could see a change leader$ has not emitted yet and never wait at all.
    let before: string | null | undefined;
    return new Promise((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        this.#clock.clearTimeout(timer);
        queueMicrotask(() => sub.unsubscribe());
        resolve();
      };
      const timer = this.#clock.setTimeout(finish, ms);
      const sub = this.#raft.leader$.subscribe((l) => {
        if (before === undefined) before = l;
        else if (l !== null && l !== before) finish();
      });
    });
  }

  /**
   * Runs query `name`; `args` are `[arg, options]`, as tRPC's `query(input, opts)`: a query
   * without argument takes `undefined` first. The argument is validated against the query's
   * input schema, if it has one.
   */
  async query(name: string, args: readonly unknown[]): Promise<unknown> {
    return (await this.#query(name, args, false)).result;
  }

  /**
   * As {@link query}, answering with this node's commit index when it served the read as a
   * {@link ReadToken}: a later session read with it observes at least this state.
   */
  queryWithToken(name: string, args: readonly unknown[]): Promise<WithToken<unknown>> {
    return this.#query(name, args, true);
  }

  async #query(name: string, args: readonly unknown[], withToken: boolean): Promise<WithToken<unknown>> {
    const queries = this.#machine.machine.queries;
    if (!Object.hasOwn(queries, name)) throw new UnknownOperationError("query", name, Object.keys(queries));
    // A stopped node answers nothing, not even a stale read: its state no longer follows the cluster.
    const status = this.#raft.status();
    if (status.stopped) throw new StoppedError(this.#raft.id, "the query", status.stoppedReason);
    const options = (args[1] ?? {}) as QueryOptions;
    checkQueryOptions(name, options);
    const arg = await validateInput("query", name, queries[name], args[0]);
    this.readGate();
    const timeoutMs = options.timeoutMs ?? this.#queryTimeoutMs;
    const consistency = options.consistency ?? "linearizable";
    this.#onRead?.(consistency);
    switch (consistency) {
      case "stale":
        return this.#serve(name, arg, withToken);
      case "lease":
        // The lease is checked and the query run in one synchronous step (RaftNode.leaseRead).
        return this.#raft.leaseRead(() => this.#serve(name, arg, withToken), { timeoutMs });
      case "linearizable":
        await this.#raft.readIndex({ timeoutMs });
        return this.#serve(name, arg, withToken);
      case "session":
        // Any node, leader or not: once it applied the caller's token, its state holds the
        // caller's writes and everything its earlier reads saw. No leader round trip.
        if (options.after !== undefined && this.#applied < options.after)
          await waitApplied(this.#raft.id, this.#raft.status$, options.after, timeoutMs, this.#clock);
        return this.#serve(name, arg, withToken);
    }
  }

  /** Runs query `name` on the state now (its read round, if any, is done). */
  #serve(name: string, arg: unknown, withToken: boolean): WithToken<unknown> {
    // A node found diverged while the read waited answers nothing either.
    this.readGate();
    try {
      // NB: the token must be at least the index of the state the query saw. The applied
      // index in the status lags the state (it is published after the whole batch), so the
      // commit index, read now, is used: nothing past it can have been applied.
      const token = withToken ? this.#raft.status().commit : 0;
      return { result: this.#machine.query(name, arg), token };
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      throw new QueryError(name, err.name, err.message);
    }
  }
}
