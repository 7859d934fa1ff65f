import type { Raft } from "../raft/raft.js";
import type { Clock } from "./clock.js";

/** What a leadership-confirming round recorded when it started, before its messages went out. */
export interface LeaseRound {
  /** Monotonic ms at the start. */
  startedAt: number;
  /** The stall epoch at the start: a stall seen later voids the round. */
  epoch: number;
  term: number;
  asLeader: boolean;
}

/** What the Raft state says about leading, checked at every use of the lease. */
export interface LeadershipView {
  term: number;
  isLeader: boolean;
  /** The leader committed an entry of its own term (before that its commit index may lag). */
  committedInTerm: boolean;
  /** A leadership transfer is under way, or timeout-now was sent in this term. */
  transferring: boolean;
}

/** What `raft` says about leading right now, for the lease. */
export function leadershipOf(r: Raft): LeadershipView {
  return {
    term: r.term,
    isLeader: r.role === "leader",
    committedInTerm: r.committedEntryInCurrentTerm(),
    transferring: r.leadTransferee !== null || r.timeoutNowSent,
  };
}

/**
 * A leader's read lease, measured on the runtime's monotonic clock (Raft thesis §6.4.1).
 *
 * A round of heartbeats started at `t` and acknowledged by a quorum proves that each of those
 * voters heard from this leader after `t`. Under check-quorum a voter then ignores vote
 * requests for `electionTick` of its own ticks — at least `(electionTick − 1)·tickMs` of its
 * clock, since its next tick may come right after the heartbeat — so no other leader can be
 * elected before that has passed. The lease therefore lasts
 *
 *   `(electionTick − 1) · tickMs · (1 − maxClockDrift) / (1 + maxClockDrift)`
 *
 * from `t` on this leader's clock, which holds as long as every node's clock runs within
 * ±`maxClockDrift` of real time. It is void (until a new round is confirmed) when:
 * - a tick arrives more than two tick intervals after the previous one (a GC pause, SIGSTOP or
 *   a starved event loop): rounds started before the stall no longer count;
 * - the term changes, the node stops leading, or a leadership transfer starts;
 * - the leader has not yet committed an entry of its term.
 *
 * Assumes all nodes use the same `tickMs` and `electionTick`, run with check-quorum, and a
 * restarted node ignores votes for an election timeout (`ignoreVotesAfterStart`, which
 * RaftNode sets exactly when `leaseReads` is on, and which must then be on for every member).
 */
export class LeaderLease {
  readonly #clock: Clock;
  readonly #tickMs: number;
  /** How long a confirmed round holds, in ms of this node's monotonic clock; 0 if never. */
  readonly durationMs: number;
  #until = Number.NEGATIVE_INFINITY;
  #term = -1;
  #epoch = 0;
  #lastTickAt: number;

  constructor(o: { clock: Clock; tickMs: number; electionTick: number; maxClockDrift: number }) {
    this.#clock = o.clock;
    this.#tickMs = o.tickMs;
    const rho = o.maxClockDrift;
    this.durationMs = Math.max(0, ((o.electionTick - 1) * o.tickMs * (1 - rho)) / (1 + rho));
    this.#lastTickAt = o.clock.monotonic();
  }

  /** Stamps a round about to start. Call before its messages can be sent. */
  startRound(v: LeadershipView): LeaseRound {
    return { startedAt: this.#clock.monotonic(), epoch: this.#epoch, term: v.term, asLeader: v.isLeader };
  }

  /** A quorum confirmed `round`: extend the lease from its start, if it still counts. */
  confirmed(round: LeaseRound, v: LeadershipView): void {
    if (!round.asLeader || !v.isLeader || round.term !== v.term || round.epoch !== this.#epoch) return;
    const until = round.startedAt + this.durationMs;
    if (this.#term !== v.term) {
      this.#term = v.term;
      this.#until = until;
    } else this.#until = Math.max(this.#until, until);
  }

  /** Called on every tick: a tick far later than expected means the loop stalled. */
  tick(): void {
    const now = this.#clock.monotonic();
    if (now - this.#lastTickAt > 2 * this.#tickMs) this.void();
    this.#lastTickAt = now;
  }

  /** Forgets the lease and every round started so far. */
  void(): void {
    this.#epoch++;
    this.#until = Number.NEGATIVE_INFINITY;
  }

  /** Whether a read may be served from local state now, with no round trip. */
  holds(v: LeadershipView): boolean {
    if (!v.isLeader || !v.committedInTerm || v.transferring || v.term !== this.#term) return false;
    const now = this.#clock.monotonic();
    // A read can run before the first tick after a stall: judge the stall from here too.
    if (now - this.#lastTickAt > 2 * this.#tickMs) {
      this.void();
      return false;
    }
    return now < this.#until;
  }
}
