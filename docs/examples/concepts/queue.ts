import { defineMachine } from "@raftkit/sdk";

interface Job {
  id: number;
  payload: string;
  /** Until when a worker holds it (ms, in log time); null when nobody does. */
  claimedUntil: number | null;
}

/** A work queue: commands change the state, queries read it. */
export const queue = defineMachine({
  initial: () => ({ nextId: 1, jobs: new Map<number, Job>() }),
  commands: {
    enqueue(s, payload: string) {
      const id = s.nextId++;
      s.jobs.set(id, { id, payload, claimedUntil: null });
      return id;
    },
    /** Claims the oldest free job for `forMs`; ctx.time, never Date.now(), so every node agrees. */
    claim(s, forMs: number, ctx) {
      const now = ctx.time.getTime();
      for (const job of s.jobs.values()) {
        if (job.claimedUntil === null || job.claimedUntil <= now) {
          job.claimedUntil = now + forMs;
          return { id: job.id, payload: job.payload };
        }
      }
      return null;
    },
    ack(s, id: number) {
      if (!s.jobs.delete(id)) throw new Error(`no job ${id}`); // state unchanged, caller gets a CommandError
    },
    /** ctx.random() is seeded from the entry: the same number on every node. */
    shuffleToken(_s, _arg: undefined, ctx) {
      return Math.floor(ctx.random() * 1_000_000);
    },
  },
  queries: {
    size: (s) => s.jobs.size,
    job: (s, id: number) => s.jobs.get(id) ?? null,
  },
});
