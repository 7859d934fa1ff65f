import type { ConfChangeSingle } from "../confchange/confChange.js";
import { LeaderChangedError } from "../errors.js";
import type { RawNode } from "../raft/rawNode.js";
import type { ConfState, NodeId } from "../raft/types.js";
import type { Clock } from "./clock.js";
import { wrapProposal } from "./envelope.js";
import { ForwardedProposals } from "./forwardedProposals.js";
import { membershipChange } from "./membership.js";
import { failureOf, type RaftNodeObserver } from "./observer.js";
import { PendingCalls } from "./pendingCalls.js";

/** What submitting proposals and membership changes needs from the node. */
export interface ProposalsContext {
  id: NodeId;
  /** Tells this run of the node apart from earlier ones, in proposal ids. */
  incarnation: string;
  raw: RawNode;
  clock: Clock;
  observer: RaftNodeObserver;
  /** Schedules the loop to handle what a submission changed. */
  schedule: () => void;
}

/**
 * This node's proposals and membership changes in flight: submits them to Raft and keeps
 * what settling them needs (see the {@link Applier}): the calls by id, the index each of
 * the leader's own proposals got, and the leader each forwarded proposal went to.
 */
export class Proposals {
  readonly #ctx: ProposalsContext;
  #seq = 0;
  /** This node's proposals, by id. */
  readonly calls: PendingCalls<{ index: number; result: unknown }>;
  /** Leader-side: the index each of our proposals got, to detect it being overwritten. */
  readonly indexes = new Map<number, string>();
  /** This node's membership changes, by id. */
  readonly confChanges: PendingCalls<ConfState>;
  readonly #forwarded = new ForwardedProposals();

  constructor(ctx: ProposalsContext) {
    this.#ctx = ctx;
    this.calls = new PendingCalls(ctx.id, "the proposal", ctx.clock);
    this.confChanges = new PendingCalls(ctx.id, "the membership change", ctx.clock);
  }

  propose(payload: Uint8Array, timeoutMs: number): Promise<{ index: number; result: unknown }> {
    const { raw, observer } = this.#ctx;
    const id = `${this.#ctx.id}/${this.#ctx.incarnation}/${this.#seq++}`;
    observer.proposalStarted?.();
    const p = this.calls.start(id, timeoutMs, () => {
      raw.propose(wrapProposal(id, payload));
      const r = raw.raft;
      if (r.role === "leader") this.indexes.set(r.raftLog.lastIndex(), id);
      else if (r.lead !== null) this.#forwarded.add(id, r.lead, r.term);
      this.#ctx.schedule();
    });
    p.then(
      () => observer.proposalCommitted?.(),
      (e: unknown) => {
        this.#forwarded.delete(id);
        observer.proposalFailed?.(failureOf(e));
      },
    );
    return p;
  }

  changeMembership(
    changes: ConfChangeSingle[],
    addresses: Record<NodeId, string>,
    timeoutMs: number,
  ): Promise<ConfState> {
    const id = `${this.#ctx.id}/${this.#ctx.incarnation}/c${this.#seq++}`;
    const cc = membershipChange(id, changes, addresses);
    return this.confChanges.start(id, timeoutMs, () => {
      this.#ctx.raw.proposeConfChange(cc);
      this.#ctx.schedule();
    });
  }

  /**
   * After a leader change (another leader, or the same one at a later term), proposals
   * forwarded to the old leadership fail with {@link LeaderChangedError} at once, so their
   * callers retry with the new one instead of waiting out their deadline.
   */
  retryForwarded(): void {
    const { lead, term } = this.#ctx.raw.raft;
    for (const { id, to } of this.#forwarded.leaderIs(lead, term))
      this.calls.reject(id, new LeaderChangedError(this.#ctx.id, to, lead));
  }

  /** Fails every proposal and membership change in flight. */
  failAll(error: (what: string) => Error): void {
    this.calls.rejectAll(error);
    this.indexes.clear();
    this.confChanges.rejectAll(error);
  }
}
