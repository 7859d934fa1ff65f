import type { ConfChange } from "../confchange/confChange.js";
import { decodeConfChange } from "../confchange/confChange.js";
import { ProposalLostError } from "../errors.js";
import type { Logger } from "../raft/logger.js";
import type { ConfState, Entry, NodeId } from "../raft/types.js";
import { emptyConfState } from "../raft/types.js";
import type { Clock } from "./clock.js";
import { unwrapProposal } from "./envelope.js";
import { type ConfChangeContext, isMember } from "./membership.js";
import type { RaftNodeObserver } from "./observer.js";
import type { Proposals } from "./proposals.js";
import type { AppliedEntry } from "./raftNodeOptions.js";
import type { StateMachine } from "./stateMachine.js";
import type { Transport } from "./transport.js";

/** What applying committed entries needs from the node. */
export interface ApplierContext {
  id: NodeId;
  stateMachine: StateMachine;
  transport: Pick<Transport, "addPeer" | "removePeer">;
  clock: Clock;
  logger: Logger;
  observer: RaftNodeObserver;
  /** Applies a committed configuration change to Raft and returns the new membership. */
  applyConfChange: (cc: ConfChange) => ConfState;
  /** This node's proposals and membership changes in flight, to settle. */
  proposals: Pick<Proposals, "calls" | "indexes" | "confChanges">;
  /** Called with each application entry as it is applied, with its result. */
  entryApplied: (e: AppliedEntry) => void;
}

/** An application entry waiting in a batch: its proposal's id (null if none) and payload. */
interface PendingEntry {
  entry: Entry;
  id: string | null;
  payload: Uint8Array;
}

/** The applied state: what a snapshot restores and what the node reports. */
export interface AppliedState {
  applied: number;
  membership: ConfState;
  readonly addresses: Map<NodeId, string>;
  /** Ids whose address this node was configured with (its own included): a snapshot never overrides them. */
  readonly configured: Set<NodeId>;
  setAddress(id: NodeId, url: string): void;
}

/**
 * Applies committed entries: application entries go to the state machine in batches and
 * settle this node's proposals; configuration changes update the membership and the members'
 * addresses and settle this node's membership changes.
 */
export class Applier implements AppliedState {
  readonly #ctx: ApplierContext;
  applied = 0;
  membership: ConfState = emptyConfState();
  readonly addresses = new Map<NodeId, string>();
  readonly configured = new Set<NodeId>();

  constructor(ctx: ApplierContext) {
    this.#ctx = ctx;
  }

  /** Takes the addresses this node was configured with: a snapshot never overrides them. */
  configure(peers: Record<NodeId, string>): void {
    for (const [id, url] of Object.entries(peers)) this.addresses.set(id, url);
    for (const id of Object.keys(peers)) this.configured.add(id);
  }

  /** Takes the state recovered at start from the stored snapshot, at `index`. */
  recovered(addresses: Record<NodeId, string>, membership: ConfState, index: number): void {
    for (const [id, url] of Object.entries(addresses))
      if (!this.addresses.has(id)) this.addresses.set(id, url);
    this.membership = membership;
    this.applied = index;
  }

  async apply(entries: Entry[]): Promise<void> {
    let batch: PendingEntry[] = [];
    // The index of the last entry handled; `applied` reaches it once its batch is applied, as
    // the state machine may let the event loop run meanwhile (status() is read then).
    let upTo = this.applied;
    for (const e of entries) {
      if (e.type === "confChange") {
        await this.#applyBatch(batch, upTo);
        batch = [];
        this.#applyConfChange(e);
      } else if (e.data.length > 0) {
        const p = unwrapProposal(e.data);
        batch.push({ entry: e, id: p?.id ?? null, payload: p?.payload ?? e.data });
      } else {
        this.#settleProposal(e.index, null, undefined);
      }
      upTo = e.index;
      if (batch.length === 0) this.applied = e.index;
    }
    await this.#applyBatch(batch, upTo);
  }

  /** Applies a batch of application entries, settles their proposals, then counts applied up to `through`. */
  async #applyBatch(run: PendingEntry[], through: number): Promise<void> {
    if (run.length === 0) return;
    const ctx = this.#ctx;
    const started = ctx.clock.monotonic();
    const results = await ctx.stateMachine.apply(
      run.map(({ entry, payload }) => ({
        term: entry.term,
        index: entry.index,
        type: entry.type,
        data: payload,
      })),
    );
    ctx.observer.applied?.(run.length, ctx.clock.monotonic() - started);
    for (let i = 0; i < run.length; i++) {
      const { entry, id, payload } = run[i]!;
      const result = results[i];
      this.#settleProposal(entry.index, id, result);
      ctx.entryApplied({ index: entry.index, term: entry.term, payload, result });
    }
    this.applied = through;
  }

  setAddress(id: NodeId, url: string): void {
    if (this.addresses.get(id) === url) return;
    // Our own address is what we were told at start; another member's view of it may differ.
    if (id === this.#ctx.id && this.configured.has(id)) return;
    this.addresses.set(id, url);
    if (id !== this.#ctx.id) this.#ctx.transport.addPeer(id, url);
  }

  #settleProposal(index: number, id: string | null, result: unknown): void {
    const { indexes, calls } = this.#ctx.proposals;
    const expected = indexes.get(index);
    if (expected !== undefined) {
      indexes.delete(index);
      if (expected !== id) calls.reject(expected, new ProposalLostError(this.#ctx.id, index));
    }
    if (id !== null) calls.resolve(id, { index, result });
  }

  #applyConfChange(e: Entry): void {
    const { id: nodeId, logger } = this.#ctx;
    const cc = decodeConfChange(e.data);
    let ctx: ConfChangeContext = {};
    try {
      ctx = cc.context ? (JSON.parse(cc.context) as ConfChangeContext) : {};
    } catch {
      ctx = {};
    }
    for (const [id, url] of Object.entries(ctx.addresses ?? {})) this.setAddress(id, url);
    let cs: ConfState;
    try {
      cs = this.#ctx.applyConfChange(cc);
    } catch (err) {
      // Every node refuses the same change the same way, so all stay in step.
      logger.warn(
        `node ${nodeId}: configuration change at index ${e.index} refused: ${(err as Error).message}`,
      );
      this.#settleConf(ctx.id, null, err as Error);
      return;
    }
    this.membership = cs;
    for (const change of cc.changes) {
      if (change.type === "removeNode" && change.nodeId !== nodeId && !isMember(cs, change.nodeId)) {
        this.addresses.delete(change.nodeId);
        this.#ctx.transport.removePeer(change.nodeId);
      }
    }
    logger.info(
      `node ${nodeId}: membership is now voters [${cs.voters.join(",")}]${cs.votersOutgoing.length ? ` & [${cs.votersOutgoing.join(",")}]` : ""} learners [${cs.learners.join(",")}]`,
      {
        event: "membership",
        index: e.index,
        voters: cs.voters.join(","),
        learners: cs.learners.join(","),
        votersOutgoing: cs.votersOutgoing.join(","),
      },
    );
    this.#settleConf(ctx.id, cs, null);
  }

  #settleConf(id: string | undefined, cs: ConfState | null, err: Error | null): void {
    if (!id) return;
    if (err) this.#ctx.proposals.confChanges.reject(id, err);
    else this.#ctx.proposals.confChanges.resolve(id, cs!);
  }
}
