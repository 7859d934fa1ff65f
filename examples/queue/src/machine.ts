import { defineMachine } from "@raftkit/sdk";
import type { Immutable } from "immer";

export interface Job {
  id: string;
  payload: string;
  status: "ready" | "claimed" | "done";
  claimedBy: string | null;
  /** Leader time (ms) until which the current claim holds. */
  claimedUntil: number;
  /** Every claim ever handed out, for audit: [worker, from, until). */
  claims: { worker: string; from: number; until: number }[];
}

/**
 * A work queue. A claim hands a job to one worker until its visibility timeout passes (in
 * leader time, `ctx.time`, the same on every node); an unacknowledged job is handed out
 * again only after that. So a job is never held by two workers at once.
 */
export const queue = defineMachine({
  initial: () => ({ jobs: new Map<string, Job>(), order: [] as string[], nextId: 1 }),
  commands: {
    enqueue(s, payload: string) {
      const id = `job-${s.nextId++}`;
      s.jobs.set(id, { id, payload, status: "ready", claimedBy: null, claimedUntil: 0, claims: [] });
      s.order.push(id);
      return id;
    },
    claim(s, arg: { worker: string; visibilityMs: number }, ctx) {
      if (!(arg.visibilityMs > 0)) throw new RangeError("visibilityMs must be positive");
      const now = ctx.time.getTime();
      for (const id of s.order) {
        const job = s.jobs.get(id)!;
        const free = job.status === "ready" || (job.status === "claimed" && job.claimedUntil <= now);
        if (!free) continue;
        job.status = "claimed";
        job.claimedBy = arg.worker;
        job.claimedUntil = now + arg.visibilityMs;
        job.claims.push({ worker: arg.worker, from: now, until: job.claimedUntil });
        return { id, payload: job.payload, claimedUntil: new Date(job.claimedUntil) };
      }
      return null;
    },
    /** Completes a job; refused (false) when the claim expired or belongs to someone else. */
    ack(s, arg: { id: string; worker: string }, ctx) {
      const job = s.jobs.get(arg.id);
      if (job?.status !== "claimed" || job.claimedBy !== arg.worker) return false;
      if (job.claimedUntil <= ctx.time.getTime()) return false;
      job.status = "done";
      s.order = s.order.filter((id) => id !== arg.id);
      return true;
    },
  },
  queries: {
    stats: (s) => {
      const counts = { ready: 0, claimed: 0, done: 0 };
      for (const j of s.jobs.values()) counts[j.status]++;
      return counts;
    },
    jobs: (s) => [...s.jobs.values()],
  },
});

export type Queue = typeof queue;

/** Pairs of claims on the same job whose holding intervals overlap (there must be none). */
export function overlappingClaims(jobs: readonly Immutable<Job>[]): string[] {
  const problems: string[] = [];
  for (const job of jobs) {
    const claims = [...job.claims].sort((a, b) => a.from - b.from);
    for (let i = 1; i < claims.length; i++) {
      if (claims[i]!.from < claims[i - 1]!.until) {
        problems.push(
          `${job.id}: ${claims[i - 1]!.worker} held it until ${claims[i - 1]!.until}, ${claims[i]!.worker} got it at ${claims[i]!.from}`,
        );
      }
    }
  }
  return problems;
}
