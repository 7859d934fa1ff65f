import type { Logger } from "@raftkit/core";
import { decideFirstStart, refuseIfLostData, sameIds } from "./firstStart.js";
import { claimDataDir, type IdentityRecord, writeIdentity } from "./identity.js";
import { askPeers } from "./peerViews.js";

/** How startNode starts the runtime: bootstrapping `initialVoters`, or not (restart, or join). */
export interface StartPlan {
  bootstrap: boolean;
  initialVoters?: string[];
  /** What the data directory recorded before this start (null for a new directory). */
  recorded: IdentityRecord | null;
}

/**
 * Decides how node `id` starts on `dataDir` (held under its storage lock), and records its
 * identity (with the voters it bootstraps) before anything is bootstrapped:
 * - storage not empty: a restart, from storage; `peers` gives no members any more;
 * - empty, and an earlier first start recorded its choice: that choice again (bootstrap the
 *   recorded voters unless a cluster answers, or join), whatever the flags say now;
 * - empty, `join`: waits to be added (after the lost-data check);
 * - empty, else: asks the peers it reaches first (see {@link decideFirstStart}), and bootstraps
 *   only if no cluster answers.
 */
export async function planStart(o: {
  id: string;
  clusterId: string;
  peers: Record<string, string>;
  dataDir: string;
  fresh: boolean;
  join: boolean;
  newCluster: boolean;
  apiPath: string;
  apiSecret: string | null;
  logger: Logger;
}): Promise<StartPlan> {
  const recorded = await claimDataDir(o.dataDir, { clusterId: o.clusterId, nodeId: o.id });
  const identity = { clusterId: o.clusterId, nodeId: o.id };
  if (!o.fresh) {
    if (!recorded) await writeIdentity(o.dataDir, identity);
    return { bootstrap: false, recorded };
  }
  const views = await askPeers(o.id, o.peers, o.apiPath, o.apiSecret);
  // An earlier first start's choice, recorded before it was acted on, wins over today's flags.
  const earlier = recorded?.joined || recorded?.initialMembers ? recorded : null;
  if (o.join && !earlier) {
    refuseIfLostData(o.id, views);
    await writeIdentity(o.dataDir, { ...identity, joined: true });
    return { bootstrap: false, recorded };
  }
  const plan = decideFirstStart({
    id: o.id,
    peers: o.peers,
    views,
    newCluster: o.newCluster,
    recorded: earlier,
  });
  if (plan.kind === "join") {
    if (plan.peer !== null)
      o.logger.info(
        `node ${o.id}: empty data directory, and ${plan.peer} is a member of a cluster that lists ${o.id} ` +
          `(members ${plan.members.join(", ")}): ${o.id} takes the log from its leader instead of bootstrapping`,
        { event: "joinExisting", peer: plan.peer, members: plan.members.join(",") },
      );
    // Recorded, so that a later start that reaches no peer waits to be sent the log, never bootstraps.
    if (!earlier) await writeIdentity(o.dataDir, { ...identity, joined: true });
    return { bootstrap: false, recorded };
  }
  const recordedVoters = earlier?.initialMembers;
  if (recordedVoters && !sameIds(recordedVoters, Object.keys(o.peers)))
    o.logger.warn(
      `node ${o.id}: peers (${Object.keys(o.peers).sort().join(", ")}) ignored: this node chose to bootstrap ` +
        `${recordedVoters.join(", ")} at its first start, whose log never reached the disk; it bootstraps the same ` +
        `members again, as the rest of the cluster may have. Change members with raftkit add-learner/replace/remove.`,
      {
        event: "peersIgnored",
        peers: Object.keys(o.peers).sort().join(","),
        initialMembers: recordedVoters.join(","),
      },
    );
  // The choice is durable before the runtime bootstraps it: a restart finds it even if the log did not.
  if (!recordedVoters) await writeIdentity(o.dataDir, { ...identity, initialMembers: plan.voters });
  return { bootstrap: true, initialVoters: plan.voters, recorded };
}

/**
 * Warns when a restarted node's `peers` names neither the members it bootstrapped nor the members
 * it has now: `peers` only matters at a first start, so an edit of it (after a replace, say) is
 * ignored, and the operator should know. Keeping `peers` as first given, or updating it to the
 * current members, is quiet.
 */
export function warnIfPeersIgnored(o: {
  id: string;
  peers: Record<string, string>;
  recorded: IdentityRecord | null;
  members: readonly string[];
  logger: Logger;
}): void {
  const given = Object.keys(o.peers).sort();
  const initial = o.recorded?.initialMembers;
  if (sameIds(given, o.members) || (initial && sameIds(given, initial))) return;
  o.logger.warn(
    `node ${o.id}: peers (${given.join(", ")}) ignored: this node restarted from its data directory, where the ` +
      `membership lives (members now ${o.members.join(", ")}${initial ? `; bootstrapped with ${initial.join(", ")}` : ""}). ` +
      "peers only chooses the members of a brand-new cluster; change members with raftkit add-learner/replace/remove.",
    {
      event: "peersIgnored",
      peers: given.join(","),
      members: o.members.join(","),
      ...(initial && { initialMembers: initial.join(",") }),
    },
  );
}
