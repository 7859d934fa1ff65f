import { distinctUntilChanged, map, type Observable } from "rxjs";
import type { RawNode } from "../raft/rawNode.js";
import type { ConfState, NodeId, ProgressStatus, Role } from "../raft/types.js";

/** The node as seen from outside, after the last Ready. */
export interface NodeStatus {
  id: NodeId;
  /** A stopped node reports "follower": it leads nothing any more. */
  role: Role;
  /** Null on a stopped node: it no longer knows, and must not send anyone to a leader. */
  leader: NodeId | null;
  term: number;
  commit: number;
  applied: number;
  membership: ConfState;
  /** On the leader: every member's replication progress. */
  progress: Record<NodeId, ProgressStatus>;
  /** The node stopped (by `stop()` or a fatal error) and takes no part in the cluster any more. */
  stopped: boolean;
  /** Why it stopped, for an operator; null while it runs. */
  stoppedReason: string | null;
}

/**
 * The status of a node from its Raft core and what its runtime applied. A stopped node
 * (`stoppedReason` not null) reports no role, leader or progress, so nothing routes to it.
 */
export function nodeStatus(
  id: NodeId,
  raw: RawNode,
  applied: number,
  membership: ConfState,
  stoppedReason: string | null,
): NodeStatus {
  const s = raw.status();
  const stopped = stoppedReason !== null;
  return {
    id,
    role: stopped ? "follower" : s.role,
    leader: stopped ? null : s.lead,
    term: s.term,
    commit: s.commit,
    applied,
    membership,
    progress: stopped ? {} : s.progress,
    stopped,
    stoppedReason,
  };
}

/** Each field of a node's status as its own stream, emitting only when that field changes. */
export function statusFields(status$: Observable<NodeStatus>): {
  role$: Observable<Role>;
  leader$: Observable<NodeId | null>;
  term$: Observable<number>;
  commitIndex$: Observable<number>;
  appliedIndex$: Observable<number>;
  membership$: Observable<ConfState>;
} {
  const field = <T>(f: (s: NodeStatus) => T, eq?: (a: T, b: T) => boolean): Observable<T> =>
    status$.pipe(map(f), distinctUntilChanged(eq));
  return {
    role$: field((s) => s.role),
    leader$: field((s) => s.leader),
    term$: field((s) => s.term),
    commitIndex$: field((s) => s.commit),
    appliedIndex$: field((s) => s.applied),
    membership$: field(
      (s) => s.membership,
      (a, b) => JSON.stringify(a) === JSON.stringify(b),
    ),
  };
}
