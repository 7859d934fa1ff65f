import type { ConfState } from "@raftkit/core";
import { describe, expect, it } from "vitest";
import { ClusterExistsError, LostDataError } from "../../src/index.js";
import { decideFirstStart, type PeerView } from "../../src/start/firstStart.js";

const conf = (voters: string[], learners: string[] = []): ConfState => ({
  voters,
  learners,
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
});
const empty = conf([]);
const view = (peer: string, membership: ConfState, published: string[] = []): PeerView => ({
  peer,
  membership,
  published: Object.fromEntries(published.map((id) => [id, {}])),
});
const peers = { n1: "http://a", n3: "http://c", n4: "http://d" };

describe("decideFirstStart (a node with empty storage, not told to join)", () => {
  it("bootstraps its peers when no peer answers (a brand-new cluster: the others are starting too)", () => {
    expect(decideFirstStart({ id: "n1", peers, views: [] })).toEqual({
      kind: "bootstrap",
      voters: ["n1", "n3", "n4"],
    });
  });

  it("bootstraps the voters it recorded at a first start whose log was lost, not the peers of now", () => {
    const recorded = { initialMembers: ["n1", "n2", "n3"] };
    expect(decideFirstStart({ id: "n1", peers, views: [], recorded })).toEqual({
      kind: "bootstrap",
      voters: ["n1", "n2", "n3"],
    });
  });

  it("joins again, even when no peer answers, when an earlier first start chose to join (stack seed 131)", () => {
    expect(decideFirstStart({ id: "n1", peers, views: [], recorded: { joined: true } })).toEqual({
      kind: "join",
      peer: null,
      members: [],
    });
  });

  it("joins (takes the log from the leader) when a peer's cluster lists it, whatever its peers say (seed 1019)", () => {
    // n2 was replaced by n4 while n1's bootstrap was lost; n1 restarts with the edited peers.
    const d = decideFirstStart({ id: "n1", peers, views: [view("n3", conf(["n1", "n3", "n4"]))] });
    expect(d).toEqual({ kind: "join", peer: "n3", members: ["n1", "n3", "n4"] });
    // The cluster was bootstrapped with other members than n1's peers: it joins, never bootstraps them.
    const bootstrappedOthers = {
      ...view("n3", conf(["n1", "n3", "n4"])),
      initialMembers: ["n1", "n2", "n3"],
    };
    expect(decideFirstStart({ id: "n1", peers, views: [bootstrappedOthers] }).kind).toBe("join");
    // A learner, or a member of the outgoing half of a joint configuration, is listed too.
    expect(decideFirstStart({ id: "n1", peers, views: [view("n3", conf(["n3"], ["n1"]))] }).kind).toBe(
      "join",
    );
    // Joining wins over newCluster: the cluster expects this member.
    expect(
      decideFirstStart({ id: "n1", peers, views: [view("n4", conf(["n1", "n4"]))], newCluster: true }).kind,
    ).toBe("join");
  });

  it("bootstraps like the others when a peer bootstrapped the cluster with the members it would (a late first member)", () => {
    // Bootstrapping the same members gives the same first entries; the cluster's first
    // configuration then lives on this member too, so losing the early ones does not lose it.
    const early = { ...view("n3", conf(["n1", "n3", "n4"])), initialMembers: ["n4", "n3", "n1"] };
    expect(decideFirstStart({ id: "n1", peers, views: [early] })).toEqual({
      kind: "bootstrap",
      voters: ["n1", "n3", "n4"],
    });
  });

  it("refuses to form a second cluster beside one that does not list it, unless told newCluster", () => {
    const views = [view("n3", empty), view("n4", conf(["n2", "n3", "n4"]))];
    const e = (() => {
      try {
        decideFirstStart({ id: "n1", peers, views });
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(ClusterExistsError);
    expect((e as ClusterExistsError).code).toBe("CLUSTER_EXISTS");
    expect((e as ClusterExistsError).peer).toBe("n4");
    expect((e as Error).message).toMatch(/n4 is a member of an existing one \(members n2, n3, n4\)/);
    expect((e as Error).message).toMatch(/raftkit add-learner n1 URL.*--join.*newCluster: true/);
    // A peer with no members runs waiting to join a cluster: one exists (seed 1019 without the
    // durable bootstrap: n4, started to replace n2, was all n1 reached).
    expect(() => decideFirstStart({ id: "n1", peers, views: [view("n4", empty)] })).toThrow(
      /n4 runs waiting to be added to an existing one/,
    );
    expect(decideFirstStart({ id: "n1", peers, views, newCluster: true })).toEqual({
      kind: "bootstrap",
      voters: ["n1", "n3", "n4"],
    });
  });

  it("refuses first when a peer says it ran before (lost data), whatever else", () => {
    const views = [view("n3", conf(["n1", "n3", "n4"]), ["n1"])];
    expect(() => decideFirstStart({ id: "n1", peers, views })).toThrow(LostDataError);
    expect(() => decideFirstStart({ id: "n1", peers, views, newCluster: true })).toThrow(LostDataError);
  });
});
