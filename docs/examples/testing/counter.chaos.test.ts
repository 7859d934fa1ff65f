import { checkMachine } from "@raftkit/sdk/testing";
import { expect, it } from "vitest";
import { counter } from "../getting-started/machine.js";

it("the counter survives crashes, pauses and partitions", { timeout: 60_000 }, async () => {
  const report = await checkMachine(counter, {
    workload: {
      commands: {
        add: { weight: 4, arg: (random) => random.int(10) }, // draw only from `random`: a seed replays
        reset: {},
      },
      queries: { value: { weight: 3 }, last: {} },
    },
    seeds: 20, // seeds 1…20; a failure prints the one to replay with `seeds: [n]`
  });
  expect(report.inconclusive).toEqual([]);
});
