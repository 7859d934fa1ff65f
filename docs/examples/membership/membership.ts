import { type AnyMachine, type RaftkitNode, startNode } from "@raftkit/sdk";

/** Adds a new member `id` (already started with `join: true`) safely: as a learner, then a voter. */
export async function addMember(leader: RaftkitNode<AnyMachine>, id: string, address: string): Promise<void> {
  await leader.cluster.addLearner(id, address); // receives the log, does not vote yet
  // Wait until it has caught up (the leader's progress shows how far each member is).
  for (;;) {
    const s = leader.status();
    const match = s.progress[id]?.match ?? 0;
    if (match >= s.commit) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await leader.cluster.promote(id); // now it votes and counts for the quorum
}

/** Replaces a member whose disk is lost: remove the old id, add a new one with an empty data dir. */
export async function replaceLost(
  node: RaftkitNode<AnyMachine>,
  lost: string,
  fresh: string,
  address: string,
) {
  await node.cluster.remove(lost); // the cluster forgets `lost`; never start it again with its old id
  await addMember(node, fresh, address);
}

/** How the new member starts on its own host: same machine, secret and clusterId; join: true. */
export async function startJoining<M extends AnyMachine>(machine: M, id: string, address: string) {
  return startNode({
    machine,
    id,
    join: true, // wait to be added instead of bootstrapping a new cluster
    dataDir: `/var/lib/myapp/raftkit/${id}`,
    secret: process.env.RAFTKIT_SECRET!,
    // The current members and itself; later changes travel in the log.
    peers: {
      n1: "http://10.0.0.1:7000",
      n2: "http://10.0.0.2:7000",
      n3: "http://10.0.0.3:7000",
      [id]: address,
    },
    listen: { port: Number(new URL(address).port), host: "0.0.0.0" },
  });
}
