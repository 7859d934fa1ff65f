import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PUBLISH } from "../src/commandLog.js";
import { counter } from "./counterMachine.js";
import { LocalCluster, useFakeTime } from "./localCluster.js";

type Node = ReturnType<LocalCluster<typeof counter>["node"]>;

/** What startNode does once a node runs: announce it through the log. */
const publish = (n: Node) => n.runner.system(PUBLISH, { id: n.id, incarnation: "test" });

beforeEach(useFakeTime);
afterEach(() => {
  vi.useRealTimers();
});

describe("cluster.remove on nodes that published themselves (as under startNode)", () => {
  it("unpublishes the removed member on every node, before and after the remover ran its own commands", async () => {
    const c = new LocalCluster(counter, ["a", "b", "c", "d"]);
    await c.startAll();
    await c.until(() => c.leader() !== undefined);
    for (const n of c.nodes.values()) await c.settle(publish(n));
    const a = c.node("a");
    await c.until(() =>
      [...c.machines.values()].every((m) => Object.keys(m.publishedMembers()).length === 4),
    );

    // Right after publishing: the remover's session holds only PUBLISH.
    await c.settle(a.cluster.remove("d"));
    // The removed node stops following the log (it is removed before it is unpublished).
    const remaining = ["a", "b", "c"].map((id) => c.machines.get(id)!);
    await c.until(() => remaining.every((m) => !Object.hasOwn(m.publishedMembers(), "d")));

    // After the remover ran (and the caller acknowledged) commands of its own.
    for (let i = 1; i <= 3; i++) expect(await c.settle(a.commands.add(1))).toBe(i);
    await c.settle(a.cluster.remove("c"));
    const live = ["a", "b"].map((id) => c.machines.get(id)!);
    await c.until(() => live.every((m) => !Object.hasOwn(m.publishedMembers(), "c")));
    expect(Object.keys(c.machines.get("a")!.publishedMembers()).sort()).toEqual(["a", "b"]);
    expect(a.status().membership.voters.sort()).toEqual(["a", "b"]);
    expect(await c.settle(a.commands.add(1))).toBe(4);
    await c.stopAll();
  });

  it("ignores a removed member's late announcement, so its id can come back with an empty data directory", async () => {
    // Found by the stack simulation: a restarted member's PUBLISH, still being retried,
    // committed after the UNPUBLISH of its removal and left it published.
    const c = new LocalCluster(counter, ["a", "b", "c", "d"]);
    await c.startAll();
    await c.until(() => c.leader() !== undefined);
    for (const n of c.nodes.values()) await c.settle(publish(n));
    const a = c.node("a");
    await c.settle(a.cluster.remove("d"));
    await c.settle(a.runner.system(PUBLISH, { id: "d", incarnation: "late" }));
    expect(await c.settle(a.commands.add(1))).toBe(1);
    for (const id of ["a", "b", "c"])
      expect(Object.hasOwn(c.machines.get(id)!.publishedMembers(), "d"), `on ${id}`).toBe(false);
    await c.stopAll();
  });
});
