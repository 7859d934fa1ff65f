import { describe, expect, it } from "vitest";
import { type Job, overlappingClaims } from "../src/machine.js";
import { runQueueExample } from "../src/main.js";

describe("examples/queue", () => {
  it("every job is done once, crashed workers' jobs come back, and no job is held by two workers at once", {
    timeout: 90_000,
  }, async () => {
    const r = await runQueueExample({ jobs: 30, workers: 4, log: () => {} });
    expect(r.done).toBe(30);
    expect(r.reclaimed).toBeGreaterThan(0);
    expect(r.overlaps).toEqual([]);
  });

  it("the overlap check finds overlapping claims", () => {
    const job: Job = {
      id: "j",
      payload: "",
      status: "done",
      claimedBy: null,
      claimedUntil: 0,
      claims: [
        { worker: "a", from: 0, until: 100 },
        { worker: "b", from: 50, until: 150 },
      ],
    };
    expect(overlappingClaims([job])).toHaveLength(1);
  });
});
