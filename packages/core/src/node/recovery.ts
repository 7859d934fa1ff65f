import type { Logger } from "../raft/logger.js";
import type { RawNode } from "../raft/rawNode.js";
import type { Applier } from "./applier.js";
import type { Persister } from "./persister.js";
import type { RaftNodeOptions } from "./raftNodeOptions.js";
import { decodeRuntimeSnapshot } from "./runtimeSnapshot.js";
import type { Snapshotter } from "./snapshotter.js";

/**
 * Brings a starting node's parts up to what its storage holds: the state machine and the
 * members' addresses from the latest snapshot, the hard state as persisted; a fresh storage
 * bootstraps a new cluster (`bootstrap`) or waits to be added to one. Says whether it bootstrapped
 * (the bootstrap's Ready is then still to be handled).
 */
export async function recover(
  o: RaftNodeOptions,
  raw: RawNode,
  parts: { applier: Applier; snapshotter: Snapshotter; persister: Persister; logger: Logger },
): Promise<boolean> {
  const { applier, snapshotter, persister, logger } = parts;
  const storage = o.storage;
  const snap = storage.snapshot();
  const fresh = storage.lastIndex() === 0 && storage.initialState().hardState.term === 0;
  applier.configure(o.peers ?? {});
  if (snap.meta.index > 0) {
    const rs = decodeRuntimeSnapshot(snap.data);
    await o.stateMachine.restore(rs.app);
    applier.recovered(rs.addresses, snap.meta.confState, snap.meta.index);
    snapshotter.recovered(snap.meta.index);
  }
  persister.persisted = storage.initialState().hardState;
  if (fresh && o.bootstrap) {
    const voters = [...new Set([...(o.initialVoters ?? Object.keys(o.peers ?? {})), o.id])].sort();
    raw.bootstrap(voters);
    logger.info(`node ${o.id}: bootstrapping a new cluster with voters ${voters.join(", ")}`);
    return true;
  }
  if (fresh) logger.info(`node ${o.id}: empty storage; waiting to be added to an existing cluster`);
  return false;
}
