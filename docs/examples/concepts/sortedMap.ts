import { defineMachine, SortedMap } from "@raftkit/sdk";

interface Job {
  payload: string;
  state: "queued" | "running" | "done";
  tries: number;
}

/** Jobs keyed "<queue>/<zero-padded id>", so a prefix lists one queue in id order. */
export const jobs = defineMachine({
  initial: () => ({ nextId: 1, jobs: new SortedMap<string, Job>() }),
  commands: {
    enqueue(s, arg: { queue: string; payload: string }) {
      const key = `${arg.queue}/${String(s.nextId++).padStart(10, "0")}`;
      s.jobs.set(key, { payload: arg.payload, state: "queued", tries: 0 });
      return key;
    },
    /** Starts the oldest queued job of a queue: values read in a reducer are drafts too. */
    start(s, queue: string) {
      for (const [key, job] of s.jobs.range({ prefix: `${queue}/` })) {
        if (job.state !== "queued") continue;
        job.state = "running";
        job.tries += 1;
        return key;
      }
      return null;
    },
    finish(s, key: string) {
      if (!s.jobs.delete(key)) throw new Error(`no job ${key}`);
    },
  },
  queries: {
    count: (s) => s.jobs.size,
    job: (s, key: string) => s.jobs.get(key) ?? null,
    /** One page of a queue, after the last key of the previous page. */
    page: (s, arg: { queue: string; after?: string }) =>
      [...s.jobs.range({ prefix: `${arg.queue}/`, from: arg.after, limit: 100 })].filter(
        ([k]) => k !== arg.after,
      ),
  },
});
