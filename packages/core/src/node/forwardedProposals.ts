import type { NodeId } from "../raft/types.js";

/**
 * Proposals this node forwarded to a leader (it was not leading when it proposed), by
 * proposal id, with the leader they went to. When the leader changes, those sent to the old
 * one are handed back so their callers can retry at once: a forwarded proposal that the old
 * leader never appended is otherwise silently lost and waits out its deadline.
 *
 * @internal
 */
export class ForwardedProposals {
  readonly #to = new Map<string, NodeId>();
  #leader: NodeId | null = null;

  /** Records proposal `id`, forwarded to `leader`. */
  add(id: string, leader: NodeId): void {
    this.#to.set(id, leader);
  }

  /** Forgets `id` (it settled). */
  delete(id: string): void {
    this.#to.delete(id);
  }

  /**
   * Tells the current leader; when it differs from the last one, returns the proposals that
   * were forwarded to another leader (and forgets them), with the leader each went to.
   */
  leaderIs(leader: NodeId | null): { id: string; to: NodeId }[] {
    if (leader === this.#leader) return [];
    this.#leader = leader;
    const orphaned: { id: string; to: NodeId }[] = [];
    for (const [id, to] of this.#to) if (to !== leader) orphaned.push({ id, to });
    for (const { id } of orphaned) this.#to.delete(id);
    return orphaned;
  }
}
