import type { ConfChange, ConfState, NodeId } from "../../src/index.js";

/**
 * The simulation's own model of membership changes (Raft thesis §4.1–4.3, as etcd-io/raft
 * does them), written independently of the core's changer: the invariant checker derives the
 * configuration in force at every committed index from it, and the harness uses it to propose
 * only changes that are valid for the leader's configuration.
 */

/** Why the model refuses a change (the core then refuses it too, with a ConfChangeError). */
export class ModelRefusal extends Error {}

/** The kinds of membership change the simulation draws (the context of its ConfChanges). */
export const CONF_KINDS = [
  "addLearner",
  "promote",
  "addVoter",
  "removeVoter",
  "removeLearner",
  "removeLeader",
  "demote",
  "replace",
  "grow",
  "shrink",
  "leave",
  "autoLeave",
] as const;
export type ConfKind = (typeof CONF_KINDS)[number];

export function emptyConf(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

/** A canonical string for a ConfState (ids sorted), for comparing and printing. */
export function confKey(cs: ConfState): string {
  const s = (ids: readonly string[]) => [...ids].sort().join(",");
  let k = `{${s(cs.voters)}}`;
  if (cs.votersOutgoing.length > 0) k += `&{${s(cs.votersOutgoing)}}`;
  if (cs.learners.length > 0) k += ` learners {${s(cs.learners)}}`;
  if (cs.learnersNext.length > 0) k += ` next {${s(cs.learnersNext)}}`;
  if (cs.autoLeave) k += " auto";
  return k;
}

export function isJointConf(cs: ConfState): boolean {
  return cs.votersOutgoing.length > 0;
}

/** Whether `id` votes in `cs` (in either half of a joint config). */
export function isVoterIn(cs: ConfState, id: NodeId): boolean {
  return cs.voters.includes(id) || cs.votersOutgoing.includes(id);
}

/** Every member of `cs`: voters of both halves and learners (including learnersNext). */
export function membersOf(cs: ConfState): Set<NodeId> {
  return new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext]);
}

/** Whether `holds` is true for a majority of each non-empty half of `cs`'s voters. */
export function quorumHolds(cs: ConfState, holds: (id: NodeId) => boolean): boolean {
  for (const half of [cs.voters, cs.votersOutgoing]) {
    if (half.length === 0) continue;
    let n = 0;
    for (const id of half) if (holds(id)) n++;
    if (n <= half.length / 2) return false;
  }
  return true;
}

/**
 * The configuration after applying `cc` to `cs`: an empty change list leaves a joint config; a
 * single change with the "auto" transition is a simple change (at most one voter may change);
 * anything else enters a joint config, left automatically unless the transition is "explicit".
 * Throws {@link ModelRefusal} for a change that is not allowed.
 */
export function applyConfModel(cs: ConfState, cc: ConfChange): ConfState {
  const incoming = new Set(cs.voters);
  let outgoing = new Set(cs.votersOutgoing);
  const learners = new Set(cs.learners);
  const next = new Set(cs.learnersNext);
  let autoLeave = cs.autoLeave;
  const joint = outgoing.size > 0;
  if (cc.changes.length === 0) {
    if (!joint) throw new ModelRefusal("not joint: nothing to leave");
    for (const id of next) learners.add(id);
    next.clear();
    outgoing = new Set();
    autoLeave = false;
  } else {
    if (joint) throw new ModelRefusal("joint: leave first");
    const enter = cc.transition !== "auto" || cc.changes.length > 1;
    if (enter) {
      if (incoming.size === 0) throw new ModelRefusal("cannot enter a joint config from an empty one");
      outgoing = new Set(incoming);
    }
    const before = new Set(incoming);
    for (const ch of cc.changes) {
      const id = ch.nodeId;
      if (ch.type === "addVoter") {
        learners.delete(id);
        next.delete(id);
        incoming.add(id);
      } else if (ch.type === "addLearner") {
        if (learners.has(id)) continue;
        incoming.delete(id);
        next.delete(id);
        if (outgoing.has(id)) next.add(id);
        else learners.add(id);
      } else {
        incoming.delete(id);
        learners.delete(id);
        next.delete(id);
      }
    }
    if (enter) autoLeave = cc.transition !== "explicit";
    else {
      let changed = 0;
      for (const id of before) if (!incoming.has(id)) changed++;
      for (const id of incoming) if (!before.has(id)) changed++;
      if (changed > 1) throw new ModelRefusal("more than one voter changed without joint consensus");
    }
    if (incoming.size === 0) throw new ModelRefusal("no voter left");
  }
  const sorted = (s: Set<string>) => [...s].sort();
  return {
    voters: sorted(incoming),
    learners: sorted(learners),
    votersOutgoing: sorted(outgoing),
    learnersNext: sorted(next),
    autoLeave,
  };
}

/** The change's kind, from the context the simulation gave it (the core's auto-leave has none). */
export function confKindOf(cc: ConfChange): ConfKind | undefined {
  if (cc.context === undefined) return cc.changes.length === 0 ? "autoLeave" : undefined;
  const kind = cc.context.split("#")[0];
  return (CONF_KINDS as readonly string[]).includes(kind ?? "") ? (kind as ConfKind) : undefined;
}

/** A one-line description of a change for the trace. */
export function fmtConfChange(cc: ConfChange): string {
  if (cc.changes.length === 0) return `leave joint${cc.context ? ` (${cc.context})` : ""}`;
  const ch = cc.changes.map((c) => `${c.type} ${c.nodeId}`).join(", ");
  return `${cc.transition} [${ch}]${cc.context ? ` (${cc.context})` : ""}`;
}
