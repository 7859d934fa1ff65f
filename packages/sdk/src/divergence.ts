import { type Logger, RaftkitError } from "@raftkit/core";
import { type Observable, Subject } from "rxjs";

/** Replicas that hold a different state at the same log index than a majority of the voters. */
export interface DivergenceEvent {
  /** The log index of the state check. */
  index: number;
  /** The hash a majority of the voters computed. */
  majorityHash: string;
  /** The nodes whose hash differs from the majority's, with their hashes. */
  diverged: Record<string, string>;
  /** True when this node is one of them. */
  self: boolean;
}

/**
 * This node's state differs from the majority's at the same log index: a reducer was not
 * deterministic (it read something that differs per node and that the guards cannot see, such
 * as a module-level variable), or the data on disk was damaged. The node stops answering
 * queries, as its answers would be wrong; restart it with an empty data directory (remove it
 * from the cluster and add it back) so it copies the state from the others.
 */
export class DivergedError extends RaftkitError {
  readonly event: DivergenceEvent;
  constructor(node: string, event: DivergenceEvent) {
    super(
      "DIVERGED",
      `node ${node} diverged: its state at index ${event.index} differs from the majority's; it no longer answers ` +
        "queries. Fix the non-deterministic reducer, then remove the node, wipe its data directory and add it back",
    );
    this.event = event;
  }
}

export interface DivergenceMonitorOptions {
  id: string;
  voters: () => readonly string[];
  isLeader: () => boolean;
  /** Proposes a STATE_CHECK entry (on the leader). */
  check: () => Promise<unknown>;
  /** Proposes this node's HASH_REPORT for a STATE_CHECK index. */
  report: (index: number, hash: string) => Promise<unknown>;
  /** Applied entries between state checks the leader proposes. */
  everyEntries: number;
  logger?: Pick<Logger, "error"> | undefined;
}

/** How many recent state checks are remembered. */
const KEPT_CHECKS = 16;

/**
 * Detects replicas that diverged. Every `everyEntries` applied entries the leader proposes a
 * STATE_CHECK entry; each node hashes its state when it applies it (so all hash the same log
 * prefix) and reports its hash through the log (HASH_REPORT). Once a majority of the voters
 * reported the same hash for an index, every node that reported another one is named in an
 * error log and on `divergence$`; a node that finds itself among them is marked diverged and
 * refuses reads ({@link DivergedError}).
 *
 * @internal Wired by createMachineNode.
 */
export class DivergenceMonitor {
  readonly #o: DivergenceMonitorOptions;
  readonly #events$ = new Subject<DivergenceEvent>();
  readonly divergence$: Observable<DivergenceEvent> = this.#events$.asObservable();
  readonly #own = new Map<number, string>();
  readonly #reports = new Map<number, Map<string, string>>();
  readonly #judged = new Map<number, Set<string>>();
  #diverged: DivergenceEvent | null = null;
  #lastCheckAt = 0;
  #checking = false;
  #stopped = false;

  constructor(o: DivergenceMonitorOptions) {
    this.#o = o;
  }

  /** The first divergence found on this node, or null. */
  get diverged(): DivergenceEvent | null {
    return this.#diverged;
  }

  /** Throws {@link DivergedError} once this node is known to have diverged. */
  assertConsistent(): void {
    if (this.#diverged) throw new DivergedError(this.#o.id, this.#diverged);
  }

  /** This node's hash at a STATE_CHECK entry: remember it and report it through the log. */
  onStateCheck(index: number, hash: string): void {
    this.#lastCheckAt = Math.max(this.#lastCheckAt, index);
    this.#own.set(index, hash);
    this.#trim();
    if (!this.#stopped)
      // After the apply loop's turn: never propose from inside it.
      void Promise.resolve()
        .then(() => this.#o.report(index, hash))
        .catch(() => {});
    this.#judge(index);
  }

  onHashReport(index: number, node: string, hash: string): void {
    let reports = this.#reports.get(index);
    if (!reports) {
      reports = new Map();
      this.#reports.set(index, reports);
      this.#trim();
    }
    reports.set(node, hash);
    this.#judge(index);
  }

  /** Proposes the next state check when this node leads and enough entries were applied since the last. */
  onApplied(appliedIndex: number): void {
    if (this.#stopped || this.#checking || appliedIndex - this.#lastCheckAt < this.#o.everyEntries) return;
    if (!this.#o.isLeader()) return;
    this.#checking = true;
    this.#lastCheckAt = appliedIndex;
    void Promise.resolve()
      .then(() => this.#o.check())
      .catch(() => {})
      .finally(() => {
        this.#checking = false;
      });
  }

  stop(): void {
    this.#stopped = true;
    this.#events$.complete();
  }

  /** Names the reporters that disagree with a majority of the voters, once there is one. */
  #judge(index: number): void {
    const reports = this.#reports.get(index);
    if (!reports) return;
    const counts = new Map<string, number>();
    for (const h of reports.values()) counts.set(h, (counts.get(h) ?? 0) + 1);
    const majority = Math.floor(this.#o.voters().length / 2) + 1;
    const majorityHash = [...counts].find(([, n]) => n >= majority)?.[0];
    if (majorityHash === undefined) return;
    let judged = this.#judged.get(index);
    if (!judged) {
      judged = new Set();
      this.#judged.set(index, judged);
    }
    const diverged: Record<string, string> = {};
    for (const [node, h] of reports) {
      if (judged.has(node)) continue;
      judged.add(node);
      if (h !== majorityHash) diverged[node] = h;
    }
    const own = this.#own.get(index);
    const self = own !== undefined && own !== majorityHash && !judged.has(`self:${this.#o.id}`);
    if (own !== undefined) judged.add(`self:${this.#o.id}`);
    if (self) diverged[this.#o.id] = own;
    if (Object.keys(diverged).length === 0) return;
    const event: DivergenceEvent = { index, majorityHash, diverged, self };
    this.#o.logger?.error(
      `replica divergence at index ${index}: ${Object.keys(diverged).join(", ")} hold a different state than the ` +
        `majority (${[...reports]
          .filter(([, h]) => h === majorityHash)
          .map(([n]) => n)
          .join(", ")}); ` +
        (self
          ? `this node (${this.#o.id}) diverged and stops answering queries`
          : `this node (${this.#o.id}) agrees with the majority`),
    );
    if (self && !this.#diverged) this.#diverged = event;
    this.#events$.next(event);
  }

  #trim(): void {
    for (const m of [this.#own, this.#reports, this.#judged] as Map<number, unknown>[]) {
      while (m.size > KEPT_CHECKS) m.delete(m.keys().next().value as number);
    }
  }
}
