import type { ConfState } from "@raftkit/core";

/** Every id in a membership: voters, learners, and the outgoing voters and learners-to-be of a joint change. */
export function memberIds(m: ConfState): string[] {
  return [...new Set([...m.voters, ...m.learners, ...m.votersOutgoing, ...m.learnersNext])];
}

/** Whether `id` is in the membership in any role (see {@link memberIds}). */
export function isMember(m: ConfState, id: string): boolean {
  return [m.voters, m.learners, m.votersOutgoing, m.learnersNext].some((ids) => ids.includes(id));
}
