import {
  type Clock,
  type Logger,
  type NodeStatus,
  type RaftNode,
  type Role,
  systemClock,
} from "@raftkit/core";
import { map, type Observable, Subject } from "rxjs";
import { type ClusterApi, createClusterApi } from "./cluster/clusterApi.js";
import { isMember, memberIds as membersOf } from "./cluster/members.js";
import {
  HASH_REPORT,
  type PublishedMember,
  SET_MACHINE_VERSION,
  STATE_CHECK,
  SYSTEM_PREFIX,
  UNPUBLISH,
} from "./commandLog.js";
import { CommandRunner } from "./commandRunner.js";
import { type DivergenceEvent, DivergenceMonitor } from "./divergence.js";
import { upgradeMachine } from "./machineUpgrade.js";
import { operationProxy } from "./operationProxy.js";
import type { ReplicatedMachine } from "./replicatedMachine.js";
import type { ReadonlyState } from "./stateTypes.js";
import type {
  AnyMachine,
  CommandOptions,
  Commands,
  CommitEvent,
  Consistency,
  Queries,
  StateOf,
  TokenCalls,
} from "./types.js";

export type { ClusterApi } from "./cluster/clusterApi.js";
export { CommandRunner } from "./commandRunner.js";

/** A running member of a raftkit cluster, typed from its machine. */
export interface MachineNode<M extends AnyMachine> {
  readonly id: string;
  /** One method per command: proposed through Raft, resolved with the reducer's result once applied here. */
  readonly commands: Commands<M>;
  /** One method per query: linearizable by default; `{ consistency: "lease" | "session" | "stale" }` after the argument (`undefined` for a query without one). */
  readonly query: Queries<M>;
  /** The same commands and queries, each answering `{ result, token }`: the {@link ReadToken} for a later `"session"` read on any node. */
  readonly withToken: TokenCalls<M>;
  readonly leader$: Observable<string | null>;
  readonly role$: Observable<Role>;
  readonly term$: Observable<number>;
  /** Every command applied on this node, in log order (duplicates of retried commands excluded). */
  readonly commits$: Observable<CommitEvent<M>>;
  /** The state after each batch of applied commands. */
  readonly state$: Observable<ReadonlyState<StateOf<M>>>;
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
  /** The status of another node (the leader), so a learner's catch-up can be followed from a follower. startNode asks over HTTP. */
  remoteStatus?: (id: string) => Promise<NodeStatus | null>;
  /** The ids another node has published (its `GET /members`), so a removed node can tell a replace is complete. */
  remotePublished?: (id: string) => Promise<readonly string[] | null>;
  /** Makes this node's session ids from their creation time (default: {@link newSessionId}, 96 random bits). A simulation draws them from its seed. */
  newSessionId?: (createdAt: number) => string;
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
  const memberIds = (): string[] => membersOf(raft.status().membership);
  machine.isMember = (id) => isMember(raft.status().membership, id);
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
  const withToken: TokenCalls<M> = {
    commands: operationProxy(
      (name) => (arg?: unknown, options?: CommandOptions) => runner.commandWithToken(name, arg, options),
    ) as unknown as TokenCalls<M>["commands"],
    query: operationProxy(
      (name) =>
        (...args: unknown[]) =>
          runner.queryWithToken(name, args),
    ) as unknown as TokenCalls<M>["query"],
  };
  /** Resolves once this node has applied everything committed before the call. */
  const barrier = async (): Promise<void> => {
    await raft.readIndex({ timeoutMs: o.queryTimeoutMs ?? 10_000 });
  };
  let stopped = false;
  return {
    id: raft.id,
    commands,
    query,
    withToken,
    leader$: raft.leader$,
    role$: raft.role$,
    term$: raft.term$,
    commits$: commits$.asObservable(),
    state$: machine.state$.asObservable() as Observable<ReadonlyState<StateOf<M>>>,
    status$: raft.status$.pipe(map(withDivergence)),
    divergence$: monitor.divergence$,
    cluster: createClusterApi({
      raft,
      clock: o.clock ?? systemClock,
      unpublish: async (id) => {
        await runner.system(UNPUBLISH, { id });
      },
      barrier,
      remoteStatus: o.remoteStatus,
      remotePublished: o.remotePublished,
      upgradeMachine: (target) =>
        upgradeMachine(
          {
            barrier,
            version: () => machine.version,
            memberIds,
            published: () => machine.publishedMembers(),
            propose: (to) => runner.system(SET_MACHINE_VERSION, { to }),
          },
          target,
        ),
    }),
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
