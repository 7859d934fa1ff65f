import type { Message, NodeId } from "../../src/index.js";

/**
 * Hands every message of `batch` that `drop` does not lose to `step`; shared by the synchronous
 * test clusters. Returns whether there was any message at all (a dropped one counts as movement).
 */
export function deliver(
  batch: readonly Message[],
  drop: (m: Message) => boolean,
  step: (to: NodeId, m: Message) => void,
): boolean {
  for (const m of batch) if (!drop(m)) step(m.to, m);
  return batch.length > 0;
}
