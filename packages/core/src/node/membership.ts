import type { Observable } from "rxjs";
import type { ConfChange, ConfChangeSingle } from "../confchange/confChange.js";
import { TimeoutError } from "../errors.js";
import type { ConfState, NodeId } from "../raft/types.js";
import type { Clock } from "./clock.js";

/** What a membership change carries in its context: the call to settle and the new addresses. */
export interface ConfChangeContext {
  id?: string;
  addresses?: Record<NodeId, string>;
}

/** The configuration change that proposes `changes` for the call `id`, with `addresses`. */
export function membershipChange(
  id: string,
  changes: ConfChangeSingle[],
  addresses: Record<NodeId, string>,
): ConfChange {
  const context: ConfChangeContext = { id, addresses };
  return { transition: "auto", changes, context: JSON.stringify(context) };
}

/** Whether `id` is in `cs` in any role (voter, learner, outgoing voter, learner to be). */
export function isMember(cs: ConfState, id: NodeId): boolean {
  return [cs.voters, cs.learners, cs.votersOutgoing, cs.learnersNext].some((ids) => ids.includes(id));
}

/** What a leadership transfer needs from the node. */
export interface TransferContext {
  id: NodeId;
  leader$: Observable<NodeId | null>;
  clock: Clock;
  /** Asks Raft to transfer leadership to `to` and schedules the loop. */
  transfer: (to: NodeId) => void;
}

/** Asks for leadership to move to `to`; resolves once `leader$` shows `to` lead. */
export function transferLeadership(ctx: TransferContext, to: NodeId, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sub = ctx.leader$.subscribe((l) => {
      if (l !== to) return;
      ctx.clock.clearTimeout(timer);
      queueMicrotask(() => sub.unsubscribe());
      resolve();
    });
    const timer = ctx.clock.setTimeout(() => {
      sub.unsubscribe();
      reject(new TimeoutError(ctx.id, `the leadership transfer to ${to}`, timeoutMs, false));
    }, timeoutMs);
    ctx.transfer(to);
  });
}
