import { describe, expect, it } from "vitest";
import { ForwardedProposals } from "../../src/node/forwardedProposals.js";

describe("ForwardedProposals", () => {
  it("keeps proposals while the leadership they went to lasts", () => {
    const f = new ForwardedProposals();
    expect(f.leaderIs("n2", 3)).toEqual([]);
    f.add("p1", "n2", 3);
    expect(f.leaderIs("n2", 3)).toEqual([]);
  });

  it("hands back the proposals forwarded to another leader", () => {
    const f = new ForwardedProposals();
    f.leaderIs("n2", 3);
    f.add("p1", "n2", 3);
    expect(f.leaderIs(null, 3)).toEqual([{ id: "p1", to: "n2" }]);
    expect(f.leaderIs("n3", 4)).toEqual([]);
  });

  it("hands back the proposals forwarded to a leader that is elected again at a later term", () => {
    // A restarted leader re-elected under the same id has lost what it had not appended.
    const f = new ForwardedProposals();
    f.leaderIs("n2", 3);
    f.add("p1", "n2", 3);
    f.add("p2", "n2", 3);
    expect(f.leaderIs("n2", 5)).toEqual([
      { id: "p1", to: "n2" },
      { id: "p2", to: "n2" },
    ]);
    f.add("p3", "n2", 5);
    expect(f.leaderIs("n2", 5)).toEqual([]);
  });
});
