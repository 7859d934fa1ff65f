import { checkMachine } from "@raftkit/sdk/testing";
import { describe, expect, it } from "vitest";
import { queue } from "../src/machine.js";

describe("examples/queue under chaos", () => {
  it("stays linearizable, deterministic and in agreement on 10 seeds of 3 nodes", {
    timeout: 60_000,
  }, async () => {
    const workers = ["w1", "w2", "w3"];
    const report = await checkMachine(queue, {
      workload: {
        commands: {
          enqueue: { weight: 3, arg: (r) => `payload-${r.int(100)}` },
          claim: { weight: 3, arg: (r) => ({ worker: r.pick(workers), visibilityMs: r.pick([50, 500]) }) },
          ack: { weight: 2, arg: (r) => ({ id: `job-${1 + r.int(6)}`, worker: r.pick(workers) }) },
        },
        queries: { stats: { weight: 2 }, jobs: {} },
      },
      seeds: 10,
    });
    expect(report.inconclusive).toEqual([]);
  });
});
