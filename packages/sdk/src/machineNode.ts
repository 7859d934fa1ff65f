import {
  type Clock,
  LeaderChangedError,
  type Logger,
  type NodeStatus,
  ProposalDroppedError,
  ProposalLostError,
  type RaftNode,
  type Role,
  StoppedError,
  systemClock,
  TimeoutError,
} from "@raftkit/core";
import type { Immutable } from "immer";
import { map, type Observable, Subject } from "rxjs";
import { CallerSession } from "./callerSession.js";
import { checkCommandOptions, checkQueryOptions } from "./callOptions.js";
import { encodeValue } from "./codec.js";
import { type DivergenceEvent, DivergenceMonitor } from "./divergence.js";
import { CommandError, QueryError, SessionExpiredError, UnknownOperationError } from "./errors.js";
import { type MachineUpgrade, upgradeMachine } from "./machineUpgrade.js";
import { commandSince } from "./machineVersion.js";
import { CommandNotAvailableError } from "./machineVersionErrors.js";
import { operationProxy } from "./operationProxy.js";
import { validateInput } from "./operations.js";
import {
  type CommandOutcome,
  type CommandPayload,
  HASH_REPORT,
  type PublishedMember,
  type ReplicatedMachine,
  SET_MACHINE_VERSION,
  STATE_CHECK,
  SYSTEM_PREFIX,
  UNPUBLISH,
} from "./replicatedMachine.js";
import type {
  AnyMachine,
  CommandOptions,
  Commands,
  CommitEvent,
  Consistency,
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
  /**
   * Switches the machine version the cluster applies at to `target` (default: the highest
   * every voter and learner supports), running `migrate` at the switch on every node. Throws
   * UpgradeRefusedError, nothing changed, when a member does not report support for it.
   */
  upgradeMachine(target?: number): Promise<MachineUpgrade>;
}

/** A running member of a raftkit cluster, typed from its machine. */
export interface MachineNode<M extends AnyMachine> {
  readonly id: string;
  /** One method per command: proposed through Raft, resolved with the reducer's result once applied here. */
  readonly commands: Commands<M>;
  /** One method per query: linearizable by default; `{ consistency: "lease" | "stale" }` after the argument (`undefined` for a query without one). */
  readonly query: Queries<M>;
  readonly leader$: Observable<string | null>;
  readonly role$: Observable<Role>;
  readonly term$: Observable<number>;
  /** Every command applied on this node, in log order (duplicates of retried commands excluded). */
  readonly commits$: Observable<CommitEvent<M>>;
  /** The state after each batch of applied commands. */
  readonly state$: Observable<Immutable<StateOf<M>>>;
  readonly status$: Observable<MachineNodeStatus>;
  /** Replicas found holding a different state than the majority at the same index (see DivergenceMonitor). */
  readonly divergence$: Observable<DivergenceEvent>;
  readonly cluster: ClusterApi;
  transferLeadership(id: string): Promise<void>;
  status(): MachineNodeStatus;
  /** Members that have started at least once and announced it through the log. */
  publishedMembers(): Record<string, PublishedMember>;
  stop(): Promise<void>;
  /** The underlying runtime, for what the typed surface does not cover. */
  readonly raft: RaftNode;
}

/**
 * The runtime's status; whether this node's state diverged from the majority's (it then
 * refuses queries); the machine version the log is applied at, and the highest this node's
 * code supports.
 */
export type MachineNodeStatus = NodeStatus & {
  diverged: boolean;
  machineVersion: number;
  supportsMachineVersion: number;
};

export interface MachineNodeOptions {
  /** Applied entries between the state checks that detect diverged replicas. Default 10,000. */
  divergenceCheckEntries?: number;
  /** Where a detected divergence is reported (error level). */
  logger?: Pick<Logger, "error">;
  /** Overall deadline of a command including retries across leader changes, in ms. Default 30,000. */
  commandTimeoutMs?: number;
  /** Default deadline of a query, in ms. Default 10,000. */
  queryTimeoutMs?: number;
  /** Called once after stop(), to release what the caller built around the node (servers). */
  onStop?: () => Promise<void>;
  /** Time and timers (default: the process's). A simulation gives its own. */
  clock?: Clock;
  /** Called with the consistency of every query this node serves (for metrics). */
  onRead?: (consistency: Consistency) => void;
  /** Makes this node's session ids from their creation time (default: {@link newSessionId}, 96 random bits). A simulation draws them from its seed. */
  newSessionId?: (createdAt: number) => string;
}

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
    return this.#inSession(name, arg, opts);
  }

  /** Takes the session's next seq; renews the session once if it expired before this command was ever sent. */
  async #inSession(name: string, arg: unknown, opts: CommandOptions): Promise<unknown> {
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
  ): Promise<unknown> {
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
      try {
        outcome = (await this.#raft.propose(payload, { timeoutMs: Math.min(remaining, RETRY_ATTEMPT_MS) }))
          .result as CommandOutcome;
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
      if (r.ok) return r.value;
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
    const queries = this.#machine.machine.queries;
    if (!Object.hasOwn(queries, name)) throw new UnknownOperationError("query", name, Object.keys(queries));
    // A stopped node answers nothing, not even a stale read: its state no longer follows the cluster.
    const status = this.#raft.status();
    if (status.stopped) throw new StoppedError(this.#raft.id, "the query", status.stoppedReason);
    const options = (args[1] ?? {}) as QueryOptions;
    checkQueryOptions(name, options);
    const arg = await validateInput("query", name, queries[name], args[0]);
    this.readGate();
    const serve = (): unknown => {
      // A node found diverged while the read waited answers nothing either.
      this.readGate();
      try {
        return this.#machine.query(name, arg);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        throw new QueryError(name, err.name, err.message);
      }
    };
    const timeoutMs = options.timeoutMs ?? this.#queryTimeoutMs;
    const consistency = options.consistency ?? "linearizable";
    this.#onRead?.(consistency);
    switch (consistency) {
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
  const monitor = new DivergenceMonitor({
    id: raft.id,
    voters: () => raft.status().membership.voters,
    isLeader: () => raft.status().role === "leader",
    check: () => runner.system(STATE_CHECK, {}),
    report: (index, hash) => runner.system(HASH_REPORT, { index, node: raft.id, hash }),
    everyEntries: o.divergenceCheckEntries ?? 10_000,
    logger: o.logger,
  });
  machine.onStateCheck = (index, hash) => monitor.onStateCheck(index, hash);
  machine.onHashReport = (index, node, hash) => monitor.onHashReport(index, node, hash);
  const appliedSub = raft.appliedIndex$.subscribe((i) => monitor.onApplied(i));
  runner.readGate = () => monitor.assertConsistent();
  const withDivergence = (s: NodeStatus): MachineNodeStatus => ({
    ...s,
    diverged: monitor.diverged !== null,
    machineVersion: machine.version,
    supportsMachineVersion: machine.machine.version,
  });
  const commits$ = new Subject<CommitEvent<M>>();
  const isMember = (id: string): boolean => {
    const m = raft.status().membership;
    return [m.voters, m.learners, m.votersOutgoing, m.learnersNext].some((ids) => ids.includes(id));
  };
  const memberIds = (): string[] => {
    const m = raft.status().membership;
    return [...new Set([...m.voters, ...m.learners, ...m.votersOutgoing, ...m.learnersNext])];
  };
  machine.isMember = isMember;
  machine.memberIds = memberIds;
  machine.onCommand = (c) => {
    // raftkit's own commands (membership records, state checks) are not the machine's.
    if (c.name.startsWith(SYSTEM_PREFIX)) return;
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
    (name) => (arg?: unknown, options?: CommandOptions) => runner.command(name, arg, options),
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
    status$: raft.status$.pipe(map(withDivergence)),
    divergence$: monitor.divergence$,
    cluster: {
      addVoter: (id, address) => change(raft.addVoter(id, address)),
      addLearner: (id, address) => change(raft.addLearner(id, address)),
      promote: (id) => change(raft.addVoter(id)),
      async remove(id) {
        // Remove first: from then on a late PUBLISH of the old member is ignored, so the
        // UNPUBLISH that follows sticks and the id can come back with an empty data directory.
        // Retrying after a failure is safe: removing a non-member changes nothing. (This node's
        // own view of the membership is no guide: right after a restart it has not re-applied
        // its log yet.) A node removing itself unpublishes first: once removed it no longer
        // applies the log.
        if (id === raft.id) await runner.system(UNPUBLISH, { id });
        await raft.removeNode(id);
        if (id !== raft.id) await runner.system(UNPUBLISH, { id });
      },
      upgradeMachine: (target) =>
        upgradeMachine(
          {
            barrier: async () => {
              await raft.readIndex({ timeoutMs: o.queryTimeoutMs ?? 10_000 });
            },
            version: () => machine.version,
            memberIds,
            published: () => machine.publishedMembers(),
            propose: (to) => runner.system(SET_MACHINE_VERSION, { to }),
          },
          target,
        ),
    },
    transferLeadership: (id) => raft.transferLeader(id),
    publishedMembers: () => machine.publishedMembers(),
    status: () => withDivergence(raft.status()),
    async stop() {
      if (stopped) return;
      stopped = true;
      appliedSub.unsubscribe();
      monitor.stop();
      await raft.stop();
      commits$.complete();
      machine.state$.complete();
      await o.onStop?.();
    },
    raft,
    runner,
  };
}
