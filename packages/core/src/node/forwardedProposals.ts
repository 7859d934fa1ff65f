import type { NodeId } from "../raft/types.js";

/**
 * Proposals this node forwarded to a leader (it was not leading when it proposed), by
 * proposal id, with the leadership they went to: the leader and its term. When the leadership
 * changes, those sent to an earlier one are handed back so their callers can retry at once: a
 * forwarded proposal that the old leader never appended is otherwise silently lost and waits
 * out its deadline. A leader re-elected at a later term counts as a new leadership: it may have
 * restarted (with the forwarded proposal lost in its memory) or stepped down and come back.
 *
 * @internal
 */
export class ForwardedProposals {
  readonly #to = new Map<string, { leader: NodeId; term: number }>();
  #leader: NodeId | null = null;
  #term = 0;

  /** Records proposal `id`, forwarded to `leader` in `term`. */
  add(id: string, leader: NodeId, term: number): void {
    this.#to.set(id, { leader, term });
  }

  /** Forgets `id` (it settled). */
  delete(id: string): void {
    this.#to.delete(id);
  }

  /**
   * Tells the current leader and term; when they differ from the last ones, returns the
   * proposals that were forwarded to another leadership (and forgets them), with the leader
   * each went to.
   */
  leaderIs(leader: NodeId | null, term: number): { id: string; to: NodeId }[] {
    if (leader === this.#leader && term === this.#term) return [];
    this.#leader = leader;
    this.#term = term;
    const orphaned: { id: string; to: NodeId }[] = [];
    for (const [id, to] of this.#to)
      if (to.leader !== leader || to.term !== term) orphaned.push({ id, to: to.leader });
    for (const { id } of orphaned) this.#to.delete(id);
    return orphaned;
  }
}
