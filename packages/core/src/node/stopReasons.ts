import type { CorruptLogError } from "../errors.js";
import type { Message } from "../raft/types.js";

/** Why a node stopped when its owner called `stop()`. */
export const STOP_CALLED = "stopped by a stop() call";

/**
 * Why a node stopped on a message its log contradicts: the node, the peer, the index, and
 * what an operator must do. Either this node lost or changed durable data (a disk that lied
 * about fsync, a restored backup, a data directory copied from another node), or the peer's
 * is, and that peer now leads with a log that drops committed entries.
 */
export function corruptLogReason(e: CorruptLogError, m: Message): string {
  return (
    `its log contradicts what the cluster committed: ${e.message} (at index ${e.index}, on a ${m.type} ` +
    `from ${m.from} at term ${m.term}). Do not restart node ${e.nodeId} on this data directory: remove it ` +
    `from the cluster, wipe its data directory and add it back, and check the storage of ${m.from}, ` +
    `which may have lost committed entries`
  );
}

/** Why a node stopped on an error in its loop (storage, state machine, or a broken invariant). */
export function fatalErrorReason(e: Error): string {
  return `a fatal error: ${e.message}. Fix its cause (the log has its stack) and restart the node`;
}
