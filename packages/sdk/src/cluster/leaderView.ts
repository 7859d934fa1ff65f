import type { ConfState, NodeStatus, RaftNode } from "@raftkit/core";
import { memberIds } from "./members.js";

/** The membership as a leader reports it, and the ids it has published (null when it could not say). */
export interface LeaderView {
  leader: string;
  membership: ConfState;
  published: readonly string[] | null;
}

/**
 * Asks the other members this node knows for the cluster's leader, and that leader for its
 * membership: what a node that cannot reach a quorum itself (it may have been removed) can
 * still learn. Null when no member answers as a leader.
 */
export async function askLeader(
  raft: RaftNode,
  remoteStatus: ((id: string) => Promise<NodeStatus | null>) | undefined,
  remotePublished: ((id: string) => Promise<readonly string[] | null>) | undefined,
): Promise<LeaderView | null> {
  if (!remoteStatus) return null;
  const others = memberIds(raft.status().membership).filter((id) => id !== raft.id);
  const answers = await Promise.all(others.map((id) => remoteStatus(id).catch(() => null)));
  const lead = answers.find((s) => s?.role === "leader");
  if (!lead) return null;
  const published = remotePublished ? await remotePublished(lead.id).catch(() => null) : null;
  return { leader: lead.id, membership: lead.membership, published };
}
