import type { ConfState } from "@raftkit/core";
import { ClusterExistsError, LostDataError } from "./startErrors.js";

/** What a reachable peer answered about itself (`GET <apiPath>/members`) when this node started empty. */
export interface PeerView {
  peer: string;
  /** The peer's configuration: empty while it has not bootstrapped nor been added anywhere. */
  membership: ConfState;
  /** The members that announced having run (PUBLISH), by id. */
  published: Record<string, unknown>;
  /** The members the peer bootstrapped the cluster with, if it did (absent for a peer that joined). */
  initialMembers?: string[];
}

/**
 * How a node with empty storage starts: by bootstrapping `voters`, or by waiting for a leader to
 * send it the log (`peer` is the one whose cluster lists it; null when an earlier first start of
 * this node already chose to join).
 */
export type FirstStart =
  | { kind: "bootstrap"; voters: string[] }
  | { kind: "join"; peer: string | null; members: string[] };

/** What an earlier first start of this node chose, as recorded durably before it acted on it. */
export interface FirstStartRecord {
  /** It bootstrapped these voters. */
  initialMembers?: string[];
  /** It joined (started with `join`, or found a cluster that listed it). */
  joined?: boolean;
}

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
 * - an earlier first start chose to join (`recorded.joined`): it joins again, never bootstraps;
 * - a peer is a member of a cluster that lists `id`: `id` is a member that never wrote its
 *   bootstrap, or starts after the others bootstrapped. If a peer bootstrapped that cluster
 *   with the members `id` would bootstrap, `id` bootstraps them too (the same first entries, as
 *   at a brand-new cluster's start). Otherwise (its `peers` were edited since) it joins: the
 *   leader sends it the log, the cluster's own first configuration included;
 * - a peer is a member of a cluster that does not list `id`, or runs waiting to join one (it
 *   answers with no members: a peer that bootstrapped always has some, since its bootstrap is
 *   durable before it serves): {@link ClusterExistsError}, unless `newCluster` says to bootstrap
 *   anyway;
 * - no peer answers (a brand-new cluster, whose members are all starting): bootstrap
 *   `recorded.initialMembers` (what an earlier first start chose, whose log never reached the
 *   disk) or else the ids of `peers`.
 */
export function decideFirstStart(o: {
  id: string;
  peers: Record<string, string>;
  views: readonly PeerView[];
  newCluster?: boolean;
  recorded?: FirstStartRecord | null;
}): FirstStart {
  refuseIfLostData(o.id, o.views);
  if (o.recorded?.joined) return { kind: "join", peer: null, members: [] };
  const mine = [...new Set([...(o.recorded?.initialMembers ?? Object.keys(o.peers)), o.id])].sort();
  const home = o.views.find((v) => membersOf(v.membership).includes(o.id));
  if (home) {
    // A cluster bootstrapped from the very members this node would bootstrap: doing so gives the
    // same first entries, so it does, and holds the first configuration even if the others fail.
    if (o.views.some((v) => v.initialMembers && sameIds(v.initialMembers, mine)))
      return { kind: "bootstrap", voters: mine };
    return { kind: "join", peer: home.peer, members: membersOf(home.membership) };
  }
  // A peer that runs with no members at all was started to join a cluster: one exists.
  const other = o.views.find((v) => v.membership.voters.length > 0) ?? o.views[0];
  if (other && !o.newCluster) throw new ClusterExistsError(o.id, other.peer, membersOf(other.membership));
  return { kind: "bootstrap", voters: mine };
}

/** Whether `a` and `b` hold the same ids, in any order. */
export function sameIds(a: readonly string[], b: readonly string[]): boolean {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((id, i) => id === y[i]);
}
