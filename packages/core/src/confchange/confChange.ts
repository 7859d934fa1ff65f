import type { NodeId } from "../raft/types.js";

export type ConfChangeType = "addVoter" | "addLearner" | "removeNode";

/** One membership operation. Adding a learner that is a voter demotes it; adding a voter that is a learner promotes it. */
export interface ConfChangeSingle {
  type: ConfChangeType;
  nodeId: NodeId;
}

/**
 * How a change of several nodes at once is carried out. "auto" uses joint consensus when
 * more than one voter changes and leaves the joint state on its own; "implicit" also leaves
 * on its own; "explicit" stays joint until an empty ConfChange is proposed (Raft thesis §4.3).
 */
export type ConfChangeTransition = "auto" | "implicit" | "explicit";

/** A membership change, proposed through the log and applied with `applyConfChange` once committed. */
export interface ConfChange {
  transition: ConfChangeTransition;
  /** Empty to leave a joint configuration. */
  changes: ConfChangeSingle[];
  /** Opaque to Raft; handed back to the application with the committed entry. */
  context?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify(cc));
}

/**
 * Decodes the data of a "confChange" entry; throws if it is not one. Empty data is the
 * leave-joint change (as in etcd, so no size limit can ever refuse it).
 */
export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length === 0) return { transition: "auto", changes: [] };
  const v = JSON.parse(decoder.decode(data)) as ConfChange;
  if (typeof v !== "object" || v === null || !Array.isArray(v.changes)) {
    throw new Error("entry data is not an encoded ConfChange");
  }
  return v;
}

/** Whether applying `cc` leaves a joint configuration (an empty change list). */
export function leavesJoint(cc: ConfChange): boolean {
  return cc.changes.length === 0;
}

/** Whether applying `cc` enters a joint configuration, and whether it leaves it automatically. */
export function entersJoint(cc: ConfChange): { joint: boolean; autoLeave: boolean } {
  if (cc.transition !== "auto" || cc.changes.length > 1) {
    return { joint: true, autoLeave: cc.transition !== "explicit" };
  }
  return { joint: false, autoLeave: false };
}
