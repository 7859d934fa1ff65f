import type { ConfState } from "@raftkit/core";
import { ClusterExistsError, LostDataError } from "./startErrors.js";

/** What a reachable peer answered about itself (`GET <apiPath>/members`) when this node started empty. */
export interface PeerView {
  peer: string;
  /** The peer's configuration: empty while it has not bootstrapped nor been added anywhere. */
  membership: ConfState;
  /** The members that announced having run (PUBLISH), by id. */
  published: Record<string, unknown>;
}

/** How a node with empty storage starts: by bootstrapping `voters`, or by waiting for a leader to send it the log. */
export type FirstStart =
  | { kind: "bootstrap"; voters: string[] }
  | { kind: "join"; peer: string; members: string[] };

/** Every id in `cs`, in any role (voter, learner, outgoing voter, learner to be), sorted. */
export function membersOf(cs: ConfState): string[] {
  return [...new Set([...cs.voters, ...cs.learners, ...cs.votersOutgoing, ...cs.learnersNext])].sort();
}

/** Throws {@link LostDataError} if a peer says `id` has run before (it published): its log and vote are lost. */
export function refuseIfLostData(id: string, views: readonly PeerView[]): void {
  for (const v of views) if (Object.hasOwn(v.published, id)) throw new LostDataError(id, v.peer);
}

/**
 * Decides how node `id`, whose storage is empty and which was not told to join, starts, from
 * what the peers it reached answered (peers that did not answer cannot tell: the reachable ones
 * decide, as for the lost-data check). In order:
 * - a peer has seen `id` run (it published): its log and vote are lost, {@link LostDataError};
 * - a peer is a member of a cluster that lists `id`: `id` is a member that never wrote its
 *   bootstrap (or started after the others bootstrapped). It joins: the leader sends it the log,
 *   the cluster's own initial configuration included, whatever `peers` says now;
 * - a peer is a member of a cluster that does not list `id`, or runs waiting to join one (it
 *   answers with no members: a peer that bootstrapped always has some, since its bootstrap is
 *   durable before it serves): {@link ClusterExistsError}, unless `newCluster` says to bootstrap
 *   anyway;
 * - no peer answers (a brand-new cluster, whose members are all starting): bootstrap `recordedVoters` (what this node chose
 *   at a first start whose log never reached the disk) or else the ids of `peers`.
 */
export function decideFirstStart(o: {
  id: string;
  peers: Record<string, string>;
  views: readonly PeerView[];
  newCluster?: boolean;
  recordedVoters?: readonly string[] | null;
}): FirstStart {
  refuseIfLostData(o.id, o.views);
  const home = o.views.find((v) => membersOf(v.membership).includes(o.id));
  if (home) return { kind: "join", peer: home.peer, members: membersOf(home.membership) };
  // A peer that runs with no members at all was started to join a cluster: one exists.
  const other = o.views.find((v) => v.membership.voters.length > 0) ?? o.views[0];
  if (other && !o.newCluster) throw new ClusterExistsError(o.id, other.peer, membersOf(other.membership));
  const voters = o.recordedVoters ?? Object.keys(o.peers);
  return { kind: "bootstrap", voters: [...new Set([...voters, o.id])].sort() };
}
