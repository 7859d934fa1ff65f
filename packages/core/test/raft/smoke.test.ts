import { describe, expect, it } from "vitest";
import { TestCluster } from "../helpers/cluster.js";

describe("a three-node cluster", () => {
  it("elects a leader, replicates and applies a proposal everywhere", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.campaign("a");
    expect(c.leader()).toBe("a");
    c.propose("a", "hello");
    c.propose("b", "forwarded");
    for (const id of c.ids) expect(c.appliedData(id)).toEqual(["hello", "forwarded"]);
    expect(c.get("a").node.status().commit).toBe(6);
  });
});
