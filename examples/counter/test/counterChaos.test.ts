import { checkMachine } from "@raftkit/sdk/testing";
import { describe, expect, it } from "vitest";
import { counter } from "../src/machine.js";

describe("examples/counter under chaos", () => {
  it("stays linearizable, deterministic and in agreement on 10 seeds of 3 nodes", {
    timeout: 60_000,
  }, async () => {
    const report = await checkMachine(counter, {
      workload: {
        commands: { add: { weight: 4, arg: (r) => r.int(10) - 3 }, reset: {} },
        queries: { value: { weight: 3 }, adds: {} },
      },
      seeds: 10,
    });
    expect(report.inconclusive).toEqual([]);
  });
});
