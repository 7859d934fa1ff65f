import { RaftkitError } from "@raftkit/core";

/** An option of `startNode` cannot work; nothing was started. The message names the option and the fix. */
export class InvalidOptionsError extends RaftkitError {
  /** The option at fault, e.g. "peers.n2" or "secret". */
  readonly option: string;
  constructor(option: string, problem: string) {
    super("CONFIG_INVALID", `startNode: ${option}: ${problem}`);
    this.option = option;
  }
}

/** Who a data directory belongs to, as its `IDENTITY` file records. */
export interface DataDirIdentity {
  clusterId: string;
  nodeId: string;
}

/**
 * The data directory was first used by another node or another cluster. Starting on it would
 * present that node's log and vote as this one's, so nothing was started.
 */
export class IdentityMismatchError extends RaftkitError {
  readonly dataDir: string;
  /** Who the directory belongs to. */
  readonly recorded: DataDirIdentity;
  /** Who tried to start on it. */
  readonly starting: DataDirIdentity;
  constructor(dataDir: string, recorded: DataDirIdentity, starting: DataDirIdentity) {
    super(
      "IDENTITY_MISMATCH",
      `data directory ${dataDir} belongs to node ${recorded.nodeId} of cluster "${recorded.clusterId}", ` +
        `not to node ${starting.nodeId} of cluster "${starting.clusterId}": give each node its own directory, ` +
        `or start node ${recorded.nodeId} (cluster "${recorded.clusterId}") on it`,
    );
    this.dataDir = dataDir;
    this.recorded = recorded;
    this.starting = starting;
  }
}

/** This node's data directory is empty, but the cluster knows it ran before: its vote and log are lost. */
export class LostDataError extends RaftkitError {
  constructor(id: string, peer: string) {
    super(
      "IDENTITY_MISMATCH",
      `node ${id} starts with an empty data directory, but the cluster (as seen from ${peer}) says ${id} has run before: ` +
        `its log and vote are lost, and rejoining as if nothing happened could elect two leaders. ` +
        `Remove it (node.cluster.remove("${id}")) from a live member, then add it back as a new member (cluster.addLearner, start it with join: true).`,
    );
  }
}

/**
 * This node's data directory is empty and it was to bootstrap a new cluster, but a peer answers
 * as a member of a cluster that does not list this node, or as a node waiting to join one:
 * bootstrapping would form a second cluster beside it (and, sharing members, split it). Nothing
 * was started.
 */
export class ClusterExistsError extends RaftkitError {
  /** The peer that answered as a member of an existing cluster. */
  readonly peer: string;
  /** That cluster's voters and learners, as the peer sees them (none: the peer waits to join). */
  readonly members: string[];
  constructor(id: string, peer: string, members: string[]) {
    super(
      "CLUSTER_EXISTS",
      `node ${id} starts with an empty data directory and would bootstrap a new cluster, but ${peer} ` +
        (members.length > 0
          ? `is a member of an existing one (members ${members.join(", ")}) that does not list ${id}. `
          : "runs waiting to be added to an existing one (it was started to join). ") +
        `To add ${id} to the existing cluster, run ` +
        `\`raftkit add-learner ${id} URL\` (or \`raftkit replace OLD ${id} URL\`) against a member and start ${id} ` +
        `with join: true (--join). To form a separate new cluster on purpose, start it with newCluster: true (--new-cluster).`,
    );
    this.peer = peer;
    this.members = members;
  }
}
