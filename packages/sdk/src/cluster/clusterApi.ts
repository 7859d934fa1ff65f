import type { Clock, ConfState, NodeStatus, RaftNode } from "@raftkit/core";
import { sleep } from "@raftkit/core";
import type { MachineUpgrade } from "../machineUpgrade.js";
import { type CatchUpProgress, waitCaughtUp } from "./catchUp.js";
import { askLeader } from "./leaderView.js";
import { isMember, memberIds } from "./members.js";
import { MembershipRefusedError } from "./membershipErrors.js";
import type { MembershipProgress } from "./membershipProgress.js";
import { type MembershipRun, startRun } from "./membershipRun.js";

export { MembershipRefusedError, MembershipStepError } from "./membershipErrors.js";
export type { MembershipOperation, MembershipProgress, MembershipStep } from "./membershipProgress.js";

/** How a new member is brought up to date before it votes. */
export interface CatchUpOptions {
  /** A learner counts as caught up within this many entries of the leader's last index. Default 100. */
  maxLagEntries?: number;
  /** How long to wait for it to catch up (a large log or a snapshot takes a while), in ms. Default 300,000. */
  catchUpTimeoutMs?: number;
  /** Called with each step as it starts, and with the learner's progress while it catches up. */
  onProgress?: (p: MembershipProgress) => void;
}

export interface AddVoterOptions extends CatchUpOptions {
  /**
   * Default true: a node that is not yet a voter joins as a learner, and is promoted once it
   * has caught up, so the cluster's quorum never waits on a member that is still replicating
   * ("staging"). False: it votes at once (a three-node cluster that adds a fourth, empty
   * voter then needs three acks per commit, one from a node that may be far behind).
   */
  staging?: boolean;
}

/** Membership operations of a running cluster. Each resolves once the change is applied on this node. */
export interface ClusterApi {
  /**
   * Adds `id`, reachable at `address`, as a voter. Staged by default: as a learner first,
   * promoted once it has caught up (see {@link AddVoterOptions.staging}). Safe to retry.
   */
  addVoter(id: string, address: string, options?: AddVoterOptions): Promise<void>;
  /** Adds `id` as a learner: it receives the log but does not vote. */
  addLearner(id: string, address: string): Promise<void>;
  /** Makes a learner a voter, at once (see addVoter for a staged promotion). */
  promote(id: string): Promise<void>;
  /** Removes `id`, then unpublishes it, so the id may come back with an empty data directory. Safe to retry. */
  remove(id: string): Promise<void>;
  /**
   * Replaces voter `oldId` by a new node `newId` reachable at `address`: adds it as a learner,
   * waits until it has caught up (a snapshot included), then promotes it and removes `oldId`
   * in one joint change (the voter count never drops, and no quorum ever counts the new node
   * before it holds the log), waits for the joint configuration to be left, and unpublishes
   * `oldId`. Refused with {@link MembershipRefusedError}, nothing changed, when `oldId` is not a
   * voter or `newId` already is one. Fails with {@link MembershipStepError} naming the step;
   * calling it again looks at the membership and resumes where it stopped. Start `newId` (with `join: true`) before or
   * right after calling it: the wait for it to catch up is bounded by `catchUpTimeoutMs`.
   */
  replace(oldId: string, newId: string, address: string, options?: CatchUpOptions): Promise<void>;
  /**
   * Switches the machine version the cluster applies at to `target` (default: the highest
   * every voter and learner supports), running `migrate` at the switch on every node. Throws
   * UpgradeRefusedError, nothing changed, when a member does not report support for it.
   */
  upgradeMachine(target?: number): Promise<MachineUpgrade>;
}

/** What the cluster API runs on. @internal */
export interface ClusterDeps {
  raft: RaftNode;
  clock: Clock;
  /** Proposes raftkit's UNPUBLISH record for `id` through the log. */
  unpublish(id: string): Promise<void>;
  /** Resolves once this node has applied everything committed before the call (a ReadIndex round). */
  barrier(): Promise<void>;
  /** The status of another node (the leader), to follow a learner's progress from a follower. */
  remoteStatus?: ((id: string) => Promise<NodeStatus | null>) | undefined;
  /** The ids another node has published, to tell whether a replaced member was unpublished. */
  remotePublished?: ((id: string) => Promise<readonly string[] | null>) | undefined;
  /** Runs {@link ClusterApi.upgradeMachine} (machineUpgrade.ts). */
  upgradeMachine(target?: number): Promise<MachineUpgrade>;
}

const has = (ids: readonly string[], id: string): boolean => ids.includes(id);
const isVoter = (m: ConfState, id: string): boolean => has(m.voters, id);
const isLearner = (m: ConfState, id: string): boolean => has(m.learners, id) || has(m.learnersNext, id);
const inJoint = (m: ConfState): boolean => m.votersOutgoing.length > 0;

const POLL_MS = 100;

/**
 * Refuses a replace that the membership (outside a joint change) makes meaningless, before it
 * changes anything: `oldId` must be a voter and `newId` not yet one. The one exception is the
 * state a completed swap leaves (`newId` a voter, `oldId` gone), which a retry resumes from.
 */
function refuseReplace(m: ConfState, oldId: string, newId: string, call: string): void {
  const voters = `voters: ${m.voters.join(", ")}`;
  const swapped = isVoter(m, newId) && !isMember(m, oldId);
  if (!isVoter(m, oldId) && !swapped)
    throw new MembershipRefusedError(
      call,
      `${oldId} is not a voter of this cluster (${voters}${isLearner(m, oldId) ? `; ${oldId} is a learner: remove it instead` : ""})`,
    );
  if (isVoter(m, newId) && isVoter(m, oldId))
    throw new MembershipRefusedError(
      call,
      `${newId} is already a voter of this cluster (${voters}): give the new node an id that is not a member`,
    );
}

/** Builds the {@link ClusterApi} of one node. @internal */
export function createClusterApi(d: ClusterDeps): ClusterApi {
  const { raft } = d;
  const membership = (): ConfState => raft.status().membership;

  /**
   * Waits until this node's membership is the cluster's as of now. Staged adds and replace
   * decide their steps from it, and right after a restart this node has not re-applied its log
   * yet: its view could be from before a change that is done (adding a voter again as a
   * learner would demote it).
   */
  const currentMembership = (run: MembershipRun): Promise<void> =>
    run.step("readMembership", async () => {
      try {
        await d.barrier();
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        throw run.failure(
          "readMembership",
          `could not read the cluster's current membership (${why}); wait until the cluster has a leader`,
          e,
        );
      }
    });

  const catchUp = (id: string, o: CatchUpOptions, run: MembershipRun): Promise<CatchUpProgress> =>
    waitCaughtUp(id, {
      raft,
      clock: d.clock,
      remoteStatus: d.remoteStatus,
      maxLagEntries: o.maxLagEntries ?? 100,
      timeoutMs: o.catchUpTimeoutMs ?? 300_000,
      pollMs: POLL_MS,
      onProgress: (progress) => run.report({ step: "catchUp", phase: "progress", progress }),
    });

  /** Waits until the joint configuration a change entered is left (auto-leave is one more entry). */
  const leaveJoint = async (timeoutMs: number): Promise<void> => {
    const deadline = d.clock.monotonic() + timeoutMs;
    while (inJoint(membership())) {
      if (d.clock.monotonic() >= deadline)
        throw new Error(`still in a joint configuration after ${timeoutMs} ms (is there a leader?)`);
      await sleep(d.clock, POLL_MS);
    }
  };

  /**
   * This node cannot read the membership (readMembership failed): it may have been removed, by
   * this very replace, and restarted still believing it is a member. Asks the leader: resolves
   * true when the replacement is complete, throws naming the current members when this node was
   * removed (a removed node cannot change anything), false when the leader cannot say.
   */
  const doneElsewhere = async (oldId: string, newId: string, run: MembershipRun): Promise<boolean> => {
    const view = await askLeader(raft, d.remoteStatus, d.remotePublished);
    if (!view || isMember(view.membership, raft.id)) return false;
    const m = view.membership;
    const swapped = !isMember(m, oldId) && isVoter(m, newId) && !inJoint(m);
    if (swapped && view.published !== null && !view.published.includes(oldId)) return true;
    const members = memberIds(m).join(", ");
    throw run.failure(
      swapped ? "unpublish" : "readMembership",
      `this node (${raft.id}) was removed from the cluster (leader ${view.leader} reports members ${members})` +
        (swapped
          ? `, and ${oldId} is replaced by ${newId}, but this node cannot tell whether ${oldId} was unpublished`
          : "") +
        `: a removed node can change nothing, so call it on a current member (${members})`,
    );
  };

  async function remove(id: string): Promise<void> {
    // Remove first: from then on a late PUBLISH of the old member is ignored, so the
    // UNPUBLISH that follows sticks and the id can come back with an empty data directory.
    // Retrying after a failure is safe: removing a non-member changes nothing. (This node's
    // own view of the membership is no guide: right after a restart it has not re-applied
    // its log yet.) A node removing itself unpublishes first: once removed it no longer
    // applies the log.
    if (id === raft.id) await d.unpublish(id);
    await raft.removeNode(id);
    if (id !== raft.id) await d.unpublish(id);
  }

  return {
    async addVoter(id, address, o = {}) {
      if (o.staging === false) {
        await raft.addVoter(id, address);
        return;
      }
      const run = startRun("addVoter", `addVoter(${id})`, o.onProgress);
      await currentMembership(run);
      if (isVoter(membership(), id)) return run.finish();
      if (!isLearner(membership(), id)) await run.step("addLearner", () => raft.addLearner(id, address));
      await run.step("catchUp", () => catchUp(id, o, run));
      await run.step("promote", () => raft.addVoter(id));
      run.finish();
    },
    addLearner: async (id, address) => {
      await raft.addLearner(id, address);
    },
    promote: async (id) => {
      await raft.addVoter(id);
    },
    remove,
    upgradeMachine: (target) => d.upgradeMachine(target),
    async replace(oldId, newId, address, o = {}) {
      const run = startRun("replace", `replace(${oldId} → ${newId})`, o.onProgress);
      if (oldId === newId)
        throw new MembershipRefusedError(run.call, `the new node needs an id other than ${oldId}`);
      const timeoutMs = o.catchUpTimeoutMs ?? 300_000;
      // A node that applied its own removal is out for good (an applied membership only moves
      // forward), and no longer gets its reads answered: nothing is left for it to do.
      if (oldId === raft.id && !isMember(membership(), oldId)) return run.finish();
      try {
        await currentMembership(run);
      } catch (e) {
        if (await doneElsewhere(oldId, newId, run)) return run.finish();
        throw e;
      }
      // A previous attempt may have stopped inside the joint change: let it finish first.
      if (inJoint(membership())) await run.step("leaveJoint", () => leaveJoint(timeoutMs));
      let m = membership();
      refuseReplace(m, oldId, newId, run.call);
      if (!isMember(m, newId)) await run.step("addLearner", () => raft.addLearner(newId, address));
      m = membership();
      if (!isVoter(m, newId) || isMember(m, oldId)) {
        if (!isVoter(m, newId)) await run.step("catchUp", () => catchUp(newId, o, run));
        // The node being replaced gives up its record first when it runs this itself: once
        // removed it applies nothing more (as cluster.remove).
        if (oldId === raft.id) await run.step("unpublish", () => d.unpublish(oldId));
        m = membership();
        const changes = [
          ...(isVoter(m, newId) ? [] : [{ type: "addVoter" as const, nodeId: newId }]),
          ...(isMember(m, oldId) ? [{ type: "removeNode" as const, nodeId: oldId }] : []),
        ];
        if (changes.length > 0) await run.step("swap", () => raft.changeMembership(changes, {}));
      }
      if (oldId === raft.id) return run.finish();
      await run.step("leaveJoint", () => leaveJoint(timeoutMs));
      await run.step("unpublish", () => d.unpublish(oldId));
      run.finish();
    },
  };
}
