import { describe, expect, it } from "vitest";
import { runCounterExample } from "../src/localCluster.js";

describe("examples/counter", () => {
  it("runs a 3-node cluster of processes and every node agrees on the count", {
    timeout: 60_000,
  }, async () => {
    const lines: string[] = [];
    const value = await runCounterExample((l) => lines.push(l));
    expect(value).toBe(15);
    expect(lines.filter((l) => /n\d sees 15$/.test(l))).toHaveLength(3);
  });
});
