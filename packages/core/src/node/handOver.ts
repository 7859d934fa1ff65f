import type { Logger } from "../raft/logger.js";
import type { NodeId } from "../raft/types.js";
import { type Clock, sleep } from "./clock.js";
import type { NodeStatus } from "./nodeStatus.js";

/** What {@link handOverLeadership} needs of the node that stops. @internal */
export interface HandingOverNode {
  readonly id: NodeId;
  status(): NodeStatus;
  transferLeader(to: NodeId, opts: { timeoutMs: number }): Promise<void>;
  /** Takes note of the proposals waiting now; the function returned tells when all of them settled. */
  pendingNow(): () => boolean;
}

/**
 * The voter, other than `self`, whose log is known to match the leader's furthest (ties: the
 * smallest id, so the choice is stable), or null when there is none.
 */
export function mostCaughtUpVoter(status: NodeStatus): NodeId | null {
  let best: { id: NodeId; match: number } | null = null;
  for (const id of [...status.membership.voters].sort()) {
    if (id === status.id) continue;
    const match = status.progress[id]?.match ?? 0;
    if (!best || match > best.match) best = { id, match };
  }
  return best?.id ?? null;
}

/**
 * Before a leader stops: moves leadership to the most caught-up voter, then waits for this
 * node's proposals waiting at that moment to be applied (the new leader commits them), all within `timeoutMs`.
 * A failed or slow transfer is logged and the node stops anyway; the rest of the cluster then
 * elects a leader after an election timeout, as after a crash.
 *
 * @internal
 */
export async function handOverLeadership(
  node: HandingOverNode,
  o: { timeoutMs: number; clock: Clock; logger: Logger },
): Promise<void> {
  const status = node.status();
  if (status.role !== "leader") return;
  const target = mostCaughtUpVoter(status);
  if (target === null) return;
  const started = o.clock.monotonic();
  o.logger.info(`node ${node.id}: stopping; handing leadership over to ${target}`, {
    event: "handOver",
    to: target,
    term: status.term,
  });
  try {
    await node.transferLeader(target, { timeoutMs: o.timeoutMs });
  } catch (e) {
    o.logger.warn(
      `node ${node.id}: leadership transfer to ${target} did not complete (${(e as Error).message}); stopping anyway`,
      { event: "handOverFailed", to: target },
    );
    return;
  }
  const settled = node.pendingNow();
  while (!settled() && o.clock.monotonic() - started < o.timeoutMs) await sleep(o.clock, 5);
}
