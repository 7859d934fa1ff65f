import { type Clock, type NodeStatus, type RaftNode, sleep, TimeoutError } from "@raftkit/core";

/** How far a learner is behind, as the leader's progress says. */
export interface CatchUpProgress {
  /** The learner being waited for. */
  readonly id: string;
  /** The leader that reported it. */
  readonly leader: string;
  /** The highest index known replicated to the learner (0 until its first answer; a snapshot counts once installed). */
  readonly match: number;
  /** The leader's last index. */
  readonly lastIndex: number;
}

/** Where a learner's progress is read from, and when it counts as caught up. */
export interface CatchUpWait {
  raft: RaftNode;
  clock: Clock;
  /** The status of `leader` (another node), or null if it cannot be asked. Absent: only a leader can wait. */
  remoteStatus?: ((leader: string) => Promise<NodeStatus | null>) | undefined;
  /** Caught up: within this many entries of the leader's last index. */
  maxLagEntries: number;
  timeoutMs: number;
  pollMs: number;
  onProgress?: ((p: CatchUpProgress) => void) | undefined;
}

/** The leader's status as seen from this node: its own when it leads, else asked through `remoteStatus`. */
async function leaderStatus(w: CatchUpWait): Promise<NodeStatus | null> {
  const s = w.raft.status();
  if (s.role === "leader") return s;
  if (s.leader === null || !w.remoteStatus) return null;
  const remote = await w.remoteStatus(s.leader).catch(() => null);
  return remote?.role === "leader" ? remote : null;
}

/**
 * Resolves once the leader's progress for learner `id` is within `maxLagEntries` of the
 * leader's last index (the leader's own `match`). Works on the leader, or on any node given
 * `remoteStatus` (it then polls the leader it knows). Rejects with {@link TimeoutError} after
 * `timeoutMs`, naming the last progress seen.
 */
export async function waitCaughtUp(id: string, w: CatchUpWait): Promise<CatchUpProgress> {
  const deadline = w.clock.monotonic() + w.timeoutMs;
  let last: CatchUpProgress | null = null;
  for (;;) {
    const ls = await leaderStatus(w);
    const learner = ls?.progress[id];
    if (ls && learner) {
      const lastIndex = ls.progress[ls.id]?.match ?? ls.commit;
      last = { id, leader: ls.id, match: learner.match, lastIndex };
      w.onProgress?.(last);
      if (learner.match > 0 && lastIndex - learner.match <= w.maxLagEntries) return last;
    }
    if (w.clock.monotonic() >= deadline) {
      const seen = last
        ? `match ${last.match} of ${last.lastIndex} on leader ${last.leader}`
        : w.remoteStatus
          ? "no leader reported its progress"
          : `this node is not the leader and cannot ask it: run this on the leader (${w.raft.status().leader ?? "none known"})`;
      throw new TimeoutError(w.raft.id, `catching up node ${id} (${seen})`, w.timeoutMs, false);
    }
    await sleep(w.clock, w.pollMs);
  }
}
