import { RaftkitError } from "../errors.js";
import type { ConfState, NodeId } from "../raft/types.js";
import { isJoint, type TrackerConfig } from "../tracker/progressTracker.js";
import { type ConfChange, type ConfChangeSingle, entersJoint, leavesJoint } from "./confChange.js";

/** A configuration change that cannot be applied to the current membership. */
export class ConfChangeError extends RaftkitError {
  constructor(message: string) {
    super("CONF_CHANGE_REFUSED", `configuration change refused: ${message}`);
  }
}

/** How changes are applied: one voter at a time, into a joint config, or out of one. */
export type ChangeMode = "simple" | "enterJoint" | "enterJointAuto" | "leaveJoint";

function cloneConfig(c: TrackerConfig): TrackerConfig {
  return {
    voters: [new Set(c.voters[0]), new Set(c.voters[1])],
    learners: new Set(c.learners),
    learnersNext: new Set(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

/** The membership a snapshot's (or storage's) ConfState describes. */
export function configFromConfState(cs: ConfState): TrackerConfig {
  return {
    voters: [new Set(cs.voters), new Set(cs.votersOutgoing)],
    learners: new Set(cs.learners),
    learnersNext: new Set(cs.learnersNext),
    autoLeave: cs.autoLeave,
  };
}

function applySingle(cfg: TrackerConfig, cc: ConfChangeSingle): void {
  const [incoming, outgoing] = cfg.voters;
  const id: NodeId = cc.nodeId;
  switch (cc.type) {
    case "addVoter":
      cfg.learners.delete(id);
      cfg.learnersNext.delete(id);
      incoming.add(id);
      return;
    case "addLearner":
      if (cfg.learners.has(id)) return;
      incoming.delete(id);
      // A voter of the outgoing config stays a voter until the joint config is left.
      if (outgoing.has(id)) cfg.learnersNext.add(id);
      else cfg.learners.add(id);
      return;
    case "removeNode":
      incoming.delete(id);
      cfg.learners.delete(id);
      cfg.learnersNext.delete(id);
      return;
  }
}

function symmetricDifference(a: ReadonlySet<NodeId>, b: ReadonlySet<NodeId>): number {
  let n = 0;
  for (const x of a) if (!b.has(x)) n++;
  for (const x of b) if (!a.has(x)) n++;
  return n;
}

function checkInvariants(cfg: TrackerConfig): void {
  for (const id of cfg.learners) {
    if (cfg.voters[0].has(id) || cfg.voters[1].has(id))
      throw new ConfChangeError(`${id} is both a voter and a learner`);
  }
  for (const id of cfg.learnersNext) {
    if (!cfg.voters[1].has(id))
      throw new ConfChangeError(`${id} is in learnersNext but not an outgoing voter`);
  }
  if (!isJoint(cfg) && (cfg.learnersNext.size > 0 || cfg.autoLeave)) {
    throw new ConfChangeError("a non-joint config cannot have learnersNext or autoLeave");
  }
}

/**
 * The membership after applying `changes` in `mode` to `current` (Raft thesis §4.1, §4.3).
 * Throws {@link ConfChangeError} for a change that is not allowed, leaving `current` untouched.
 */
export function applyChanges(
  current: TrackerConfig,
  changes: readonly ConfChangeSingle[],
  mode: ChangeMode,
): TrackerConfig {
  const cfg = cloneConfig(current);
  if (mode === "leaveJoint") {
    if (!isJoint(cfg)) throw new ConfChangeError("cannot leave a joint config: the config is not joint");
    for (const id of cfg.learnersNext) cfg.learners.add(id);
    cfg.learnersNext.clear();
    cfg.voters = [cfg.voters[0], new Set()];
    cfg.autoLeave = false;
    checkInvariants(cfg);
    return cfg;
  }
  if (isJoint(cfg)) throw new ConfChangeError("the config is joint; leave it before changing it again");
  if (mode === "simple") {
    for (const c of changes) applySingle(cfg, c);
    if (symmetricDifference(current.voters[0], cfg.voters[0]) > 1) {
      throw new ConfChangeError(
        "more than one voter changed without joint consensus; use a joint transition",
      );
    }
  } else {
    if (cfg.voters[0].size === 0) throw new ConfChangeError("cannot enter a joint config from an empty one");
    cfg.voters = [cfg.voters[0], new Set(cfg.voters[0])];
    for (const c of changes) applySingle(cfg, c);
    cfg.autoLeave = mode === "enterJointAuto";
  }
  if (cfg.voters[0].size === 0) throw new ConfChangeError("the change would remove every voter");
  checkInvariants(cfg);
  return cfg;
}

/** The membership after applying one ConfChange (simple, entering or leaving a joint config). */
export function nextConfig(current: TrackerConfig, cc: ConfChange): TrackerConfig {
  if (leavesJoint(cc)) return applyChanges(current, [], "leaveJoint");
  const { joint, autoLeave } = entersJoint(cc);
  return applyChanges(current, cc.changes, joint ? (autoLeave ? "enterJointAuto" : "enterJoint") : "simple");
}
