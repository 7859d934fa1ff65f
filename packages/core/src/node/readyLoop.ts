import { CorruptLogError } from "../errors.js";
import type { Logger } from "../raft/logger.js";
import type { RawNode } from "../raft/rawNode.js";
import type { Message, NodeId, Ready } from "../raft/types.js";
import type { Applier } from "./applier.js";
import { type Clock, type TimerHandle, TurnBudget } from "./clock.js";
import type { LeaderLease, LeaseRound } from "./leaderLease.js";
import type { Persister } from "./persister.js";
import type { Proposals } from "./proposals.js";
import type { ResolvedRaftNodeOptions } from "./raftNodeOptions.js";
import type { ReadBatcher } from "./readBatcher.js";
import type { Snapshotter } from "./snapshotter.js";
import { corruptLogReason, fatalErrorReason } from "./stopReasons.js";
import type { Transport, TransportHandler } from "./transport.js";

/**
 * How long the loop handles Readys back to back before it lets the event loop run (ms of the
 * clock's monotonic time, counted while it held the loop: see TurnBudget). A simulation's clock
 * does not move while code runs, so there the loop never yields on its own.
 */
export const LOOP_TURN_MS = 10;

/** What the loop drives; owned by the {@link RaftNode} that runs it. */
export interface ReadyLoopParts {
  id: NodeId;
  raw: RawNode;
  transport: Transport;
  clock: Clock;
  logger: Logger;
  opts: ResolvedRaftNodeOptions;
  proposals: Proposals;
  reads: ReadBatcher<LeaseRound>;
  lease: LeaderLease;
  persister: Persister;
  applier: Applier;
  snapshotter: Snapshotter;
  /** Whether the node stopped: the loop then does nothing more. */
  stopped(): boolean;
  /** Stops the node for good after an error it cannot continue from. */
  fatal(reason: string, cause?: Error | null): void;
  /** A Ready was handled: the node's status may have changed. */
  handled(): void;
}

/**
 * The node's loop: ticks, incoming messages and local requests all schedule one run, which
 * takes each Ready in turn and handles it as {@link RaftNode} describes (persist, send, apply,
 * advance) until Raft has nothing more to do.
 */
export class ReadyLoop {
  readonly #p: ReadyLoopParts;
  /** Monotonic ms of the last lease read; while recent, the leader keeps its lease renewed. */
  #leaseUsedAt = Number.NEGATIVE_INFINITY;
  #ticks = 0;
  #lastLead: NodeId | null = null;
  /** Sends the commit index to followers that were not sent it (see commitBroadcastDelayMs). */
  #commitTimer: TimerHandle | null = null;
  #timer: TimerHandle | null = null;
  #scheduled = false;
  #running = false;
  #done: Promise<void> = Promise.resolve();

  constructor(parts: ReadyLoopParts) {
    this.#p = parts;
  }

  /** Whether a run is under way (a Ready is being handled). */
  get running(): boolean {
    return this.#running;
  }

  /** Settles when the run under way (if any) ends. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** A lease read was asked for now: while they keep coming the leader renews its lease. */
  leaseUsed(): void {
    this.#leaseUsedAt = this.#p.clock.monotonic();
  }

  tick(): void {
    const p = this.#p;
    if (p.stopped()) return;
    p.lease.tick();
    p.raw.tick();
    p.reads.tick();
    this.#ticks++;
    const leaseInUse = p.clock.monotonic() - this.#leaseUsedAt < p.opts.electionTick * p.opts.tickMs;
    if (leaseInUse && p.raw.raft.role === "leader" && this.#ticks % p.opts.heartbeatTick === 0)
      p.reads.renew();
    this.schedule();
  }

  step(msgs: Message[]): void {
    const p = this.#p;
    if (p.stopped() || msgs.length === 0) return;
    for (const m of msgs) {
      try {
        p.raw.step(m);
      } catch (e) {
        // A log that contradicts what is committed must not serve or vote any more (etcd
        // panics); any other error is a bad or stale message from the peer, dropped.
        if (e instanceof CorruptLogError) {
          p.fatal(corruptLogReason(e, m));
          return;
        }
        p.logger.warn(`node ${p.id}: ignored ${m.type} from ${m.from}: ${(e as Error).message}`);
      }
    }
    this.schedule();
  }

  schedule(): void {
    if (this.#scheduled || this.#p.stopped()) return;
    this.#scheduled = true;
    // setImmediate lets every proposal and message of this turn join the same Ready.
    this.#p.clock.setImmediate(() => {
      this.#scheduled = false;
      if (!this.#running) this.#done = this.#run();
    });
  }

  /** What the transport reports to: messages go to `receive`, the rest to Raft. */
  transportHandler(receive: (msgs: Message[]) => void): TransportHandler {
    const { raw, stopped } = this.#p;
    // Each report is stepped into Raft, then the loop runs for what Raft made of it.
    const report =
      <A extends unknown[]>(f: (...args: A) => void) =>
      (...args: A): void => {
        if (stopped()) return;
        f(...args);
        this.schedule();
      };
    return {
      receive,
      reportUnreachable: report((id) => raw.reportUnreachable(id)),
      reportSnapshot: report((id, ok: boolean) => raw.reportSnapshot(id, ok)),
      reportGone: report((id) => raw.reportGone(id)),
      reportReachable: report((id) => raw.reportReachable(id)),
    };
  }

  /** Handles the Ready of a bootstrap (its initial configuration), before the transport starts. */
  persistBootstrap(): Promise<void> {
    return this.#handleReady(this.#p.raw.ready());
  }

  /** Starts ticking every `tickMs`, and runs once. */
  start(): void {
    this.#timer = this.#p.clock.setInterval(() => this.tick(), this.#p.opts.tickMs);
    this.schedule();
  }

  /** Stops the ticks and the pending commit broadcast; the node stopped. */
  halt(): void {
    if (this.#timer) this.#p.clock.clearInterval(this.#timer);
    if (this.#commitTimer) this.#p.clock.clearTimeout(this.#commitTimer);
  }

  async #run(): Promise<void> {
    const p = this.#p;
    this.#running = true;
    try {
      const budget = new TurnBudget(p.clock, LOOP_TURN_MS);
      while (!p.stopped()) {
        p.proposals.submitQueued();
        if (!p.raw.hasReady()) break;
        await this.#handleReady(p.raw.ready());
        // Proposals resolved in this turn propose again at once (an in-process client's next
        // call), so Readys could follow each other for as long as clients keep up, and every
        // timer, peer message and heartbeat would wait behind them all.
        if (budget.used()) await budget.nextTurn();
      }
      if (!p.stopped() && this.#commitTimer === null && p.raw.hasUntoldCommit()) {
        this.#commitTimer = p.clock.setTimeout(() => {
          this.#commitTimer = null;
          if (p.stopped()) return;
          p.raw.broadcastCommit();
          this.schedule();
        }, p.opts.commitBroadcastDelayMs);
      }
    } catch (e) {
      p.fatal(fatalErrorReason(e as Error), e as Error);
    } finally {
      this.#running = false;
    }
  }

  async #handleReady(rd: Ready): Promise<void> {
    const p = this.#p;
    // A leader may send before its own write is durable; everyone else answers only after it.
    const sendFirst = p.raw.raft.role === "leader" && !p.persister.voteChanged(rd.hardState);
    // A leader's appends leave first (the followers' write and acknowledgement is the longer
    // path), then its own write starts: its fsync runs on the thread pool while committed
    // entries are applied.
    if (sendFirst) {
      p.transport.send(rd.messages);
      p.transport.flush?.();
    }
    const persisted = p.persister.persist(rd);
    if (sendFirst && !rd.snapshot && rd.committedEntries.length > 0) {
      // Committed entries are durable on a quorum already (a leader counts its own entries
      // only once they are durable here, see RawNode.advance), so applying them, and answering
      // their callers, need not wait for this Ready's write: etcd's server applies in parallel
      // with its WAL write too. A failed write is reported by the await below.
      persisted.catch(() => {});
      await p.applier.apply(rd.committedEntries);
      await persisted;
    } else {
      // Anyone else acknowledges as soon as its write is durable, and applies after: applying
      // first would hold the acknowledgement back for as long as applying takes.
      await persisted;
      // (Never an empty send: the bootstrap's Ready is handled before the transport starts.)
      if (!sendFirst && rd.messages.length > 0) {
        p.transport.send(rd.messages);
        // Out now, not in a microtask: applying below runs synchronously into the user's
        // reducers and would hold the acknowledgement back for as long as it takes.
        p.transport.flush?.();
      }
      if (rd.snapshot)
        await p.snapshotter.restore(rd.snapshot.data, rd.snapshot.meta.index, rd.snapshot.meta.confState);
      if (rd.committedEntries.length > 0) await p.applier.apply(rd.committedEntries);
    }
    for (const rs of rd.readStates) p.reads.confirmed(rs.requestCtx, rs.index);
    p.raw.advance(rd);
    p.reads.applied(p.applier.applied);
    const lead = p.raw.raft.lead;
    if (lead !== this.#lastLead) {
      this.#lastLead = lead;
      if (lead !== null) p.reads.leaderChanged();
    }
    p.proposals.retryForwarded();
    p.snapshotter.maybeSnapshot();
    p.handled();
  }
}
