import type { CatchUpProgress } from "./catchUp.js";

/**
 * The steps of {@link ClusterApi.replace} (and of a staged addVoter: addLearner, catchUp,
 * promote). `readMembership` is the read of the cluster's current membership every call
 * starts with; nothing is changed before it succeeds.
 */
export type MembershipStep =
  | "readMembership"
  | "addLearner"
  | "catchUp"
  | "promote"
  | "swap"
  | "leaveJoint"
  | "unpublish";

/** The membership operations that run in steps and report them. */
export type MembershipOperation = "replace" | "addVoter";

/** Where a membership operation stands: a step starting, or a learner's progress while it catches up. */
export type MembershipProgress =
  | { step: MembershipStep; phase: "start" }
  | { step: "catchUp"; phase: "progress"; progress: CatchUpProgress }
  | { step: "done"; phase: "done" };
