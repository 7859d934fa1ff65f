import {
  type Clock,
  type NodeStatus,
  ProposalDroppedError,
  ProposalLostError,
  type RaftNode,
  type Role,
  sleep,
  systemClock,
  TimeoutError,
} from "@raftkit/core";
import type { Immutable } from "immer";
import { type Observable, Subject } from "rxjs";
import { encodeValue } from "./codec.js";
import { CommandError, QueryError, UnknownOperationError } from "./errors.js";
import { operationProxy } from "./operationProxy.js";
import {
  type CommandOutcome,
  type PublishedMember,
  type ReplicatedMachine,
  SYSTEM_PREFIX,
  UNPUBLISH,
} from "./replicatedMachine.js";
import type {
  AnyMachine,
  CommandOptions,
  Commands,
  CommitEvent,
  Queries,
  QueryOptions,
  StateOf,
} from "./types.js";

/** Membership operations of a running cluster. Each resolves once the change is applied on this node. */
export interface ClusterApi {
  /** Adds `id`, reachable at `address`, as a voter. Prefer adding a learner first and promoting it once caught up. */
  addVoter(id: string, address: string): Promise<void>;
  /** Adds `id` as a learner: it receives the log but does not vote. */
  addLearner(id: string, address: string): Promise<void>;
  /** Makes a learner a voter. */
  promote(id: string): Promise<void>;
  remove(id: string): Promise<void>;
}

/** A running member of a raftkit cluster, typed from its machine. */
export interface MachineNode<M extends AnyMachine> {
  readonly id: string;
  /** One method per command: proposed through Raft, resolved with the reducer's result once applied here. */
  readonly commands: Commands<M>;
  /** One method per query: linearizable by default; `{ consistency: "lease" | "stale" }` as the last argument. */
  readonly query: Queries<M>;
  readonly leader$: Observable<string | null>;
  readonly role$: Observable<Role>;
  readonly term$: Observable<number>;
  /** Every command applied on this node, in log order (duplicates of retried commands excluded). */
  readonly commits$: Observable<CommitEvent<M>>;
  /** The state after each batch of applied commands. */
  readonly state$: Observable<Immutable<StateOf<M>>>;
  readonly status$: Observable<NodeStatus>;
  readonly cluster: ClusterApi;
  transferLeadership(id: string): Promise<void>;
  status(): NodeStatus;
  /** Members that have started at least once and announced it through the log. */
  publishedMembers(): Record<string, PublishedMember>;
  stop(): Promise<void>;
  /** The underlying runtime, for what the typed surface does not cover. */
  readonly raft: RaftNode;
}

export interface MachineNodeOptions {
  /** Overall deadline of a command including retries across leader changes, in ms. Default 30,000. */
  commandTimeoutMs?: number;
  /** Default deadline of a query, in ms. Default 10,000. */
  queryTimeoutMs?: number;
  /** Called once after stop(), to release what the caller built around the node (servers). */
  onStop?: () => Promise<void>;
  /** Time and timers (default: the process's). A simulation gives its own. */
  clock?: Clock;
  /** This node's session id (default: 96 random bits). A simulation draws it from its seed. */
  sessionId?: string;
}

const RETRY_ATTEMPT_MS = 3_000;

function randomId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

/**
 * Runs commands and queries of a machine on a {@link RaftNode}. Commands carry this node's
 * session and a sequence number, so retrying one (after a timeout or leader change) is
 * applied at most once and answers with the first result.
 *
 * @internal Use startNode.
 */
export class CommandRunner<M extends AnyMachine> {
  readonly session: string;
  #seq = 1;
  readonly #outstanding = new Set<number>();
  readonly #raft: RaftNode;
  readonly #machine: ReplicatedMachine<M>;
  readonly #commandTimeoutMs: number;
  readonly #queryTimeoutMs: number;
  readonly #clock: Clock;

  constructor(raft: RaftNode, machine: ReplicatedMachine<M>, o: MachineNodeOptions) {
    this.session = o.sessionId ?? randomId();
    this.#clock = o.clock ?? systemClock;
    this.#raft = raft;
    this.#machine = machine;
    this.#commandTimeoutMs = o.commandTimeoutMs ?? 30_000;
    this.#queryTimeoutMs = o.queryTimeoutMs ?? 10_000;
  }

  /** Runs command `name` with `arg` under this runner's session. */
  async command(name: string, arg: unknown, opts: CommandOptions = {}): Promise<unknown> {
    const seq = this.#seq++;
    this.#outstanding.add(seq);
    try {
      return await this.runSequenced(
        name,
        arg,
        this.session,
        seq,
        () => Math.min(...this.#outstanding),
        opts,
      );
    } finally {
      this.#outstanding.delete(seq);
    }
  }

  /**
   * Proposes a command with a given session and sequence number, retrying through leader
   * changes until it is applied or the deadline passes. Used for this node's own commands and
   * for clients' commands arriving over HTTP.
   */
  async runSequenced(
    name: string,
    arg: unknown,
    session: string,
    seq: number,
    lowest: () => number,
    opts: CommandOptions = {},
  ): Promise<unknown> {
    const commands = this.#machine.machine.commands;
    if (!Object.hasOwn(commands, name) && !(name.startsWith(SYSTEM_PREFIX) && session === this.session)) {
      throw new UnknownOperationError("command", name, Object.keys(commands));
    }
    const timeoutMs = opts.timeoutMs ?? this.#commandTimeoutMs;
    const deadline = this.#clock.monotonic() + timeoutMs;
    // Encoding once checks the argument before anything is proposed.
    encodeValue(arg, `the argument of command "${name}"`);
    let mayHaveBeenApplied = false;
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - this.#clock.monotonic();
      if (remaining <= 0) {
        throw new TimeoutError(this.#raft.id, `command "${name}"`, timeoutMs, mayHaveBeenApplied);
      }
      const payload = encodeValue(
        { name, arg, session, seq, lowest: lowest(), at: this.#clock.now() },
        `command "${name}"`,
      );
      try {
        const { result } = await this.#raft.propose(payload, {
          timeoutMs: Math.min(remaining, RETRY_ATTEMPT_MS),
        });
        const outcome = result as CommandOutcome;
        if (!outcome.result.ok) throw new CommandError(name, outcome.result.name, outcome.result.message);
        return outcome.result.value;
      } catch (e) {
        if (e instanceof TimeoutError) mayHaveBeenApplied = true;
        else if (!(e instanceof ProposalDroppedError || e instanceof ProposalLostError)) throw e;
        // Same session and seq: if an earlier attempt did commit, this one answers with its result.
        await sleep(this.#clock, Math.min(500, 20 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  /** Runs query `name`; `args` are the query's argument (if it declares one) followed by options. */
  async query(name: string, args: readonly unknown[]): Promise<unknown> {
    const queries = this.#machine.machine.queries;
    const fn = Object.hasOwn(queries, name) ? queries[name] : undefined;
    if (typeof fn !== "function") throw new UnknownOperationError("query", name, Object.keys(queries));
    const takesArg = fn.length >= 2;
    const arg = takesArg ? args[0] : undefined;
    const options = ((takesArg ? args[1] : args[0]) ?? {}) as QueryOptions;
    const serve = (): unknown => {
      try {
        return this.#machine.query(name, arg);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        throw new QueryError(name, err.name, err.message);
      }
    };
    const timeoutMs = options.timeoutMs ?? this.#queryTimeoutMs;
    switch (options.consistency ?? "linearizable") {
      case "stale":
        return serve();
      case "lease":
        // The lease is checked and the query run in one synchronous step (RaftNode.leaseRead).
        return this.#raft.leaseRead(serve, { timeoutMs });
      case "linearizable":
        await this.#raft.readIndex({ timeoutMs });
        return serve();
    }
  }
}

/** Wires a machine and its runtime into the typed {@link MachineNode} surface. */
export function createMachineNode<M extends AnyMachine>(
  raft: RaftNode,
  machine: ReplicatedMachine<M>,
  o: MachineNodeOptions = {},
): MachineNode<M> & { runner: CommandRunner<M> } {
  const runner = new CommandRunner(raft, machine, o);
  const commits$ = new Subject<CommitEvent<M>>();
  machine.onCommand = (c) => {
    commits$.next({
      name: c.name,
      args: c.arg === undefined ? [] : [c.arg],
      result: c.result.ok ? c.result.value : undefined,
      error: c.result.ok ? undefined : { name: c.result.name, message: c.result.message },
      index: c.index,
      term: c.term,
      time: c.time,
    } as unknown as CommitEvent<M>);
  };
  const commands = operationProxy(
    (name) => (arg?: unknown) => runner.command(name, arg),
  ) as unknown as Commands<M>;
  const query = operationProxy(
    (name) =>
      (...args: unknown[]) =>
        runner.query(name, args),
  ) as unknown as Queries<M>;
  const change = async (p: Promise<unknown>): Promise<void> => {
    await p;
  };
  let stopped = false;
  return {
    id: raft.id,
    commands,
    query,
    leader$: raft.leader$,
    role$: raft.role$,
    term$: raft.term$,
    commits$: commits$.asObservable(),
    state$: machine.state$.asObservable() as Observable<Immutable<StateOf<M>>>,
    status$: raft.status$,
    cluster: {
      addVoter: (id, address) => change(raft.addVoter(id, address)),
      addLearner: (id, address) => change(raft.addLearner(id, address)),
      promote: (id) => change(raft.addVoter(id)),
      async remove(id) {
        // Forget that it ran, so it can later be added back with an empty data directory.
        await runner.runSequenced(UNPUBLISH, { id }, runner.session, 0, () => 0);
        await raft.removeNode(id);
      },
    },
    transferLeadership: (id) => raft.transferLeader(id),
    publishedMembers: () => machine.publishedMembers(),
    status: () => raft.status(),
    async stop() {
      if (stopped) return;
      stopped = true;
      await raft.stop();
      commits$.complete();
      machine.state$.complete();
      await o.onStop?.();
    },
    raft,
    runner,
  };
}
