import type { SeededRandom } from "@raftkit/core";
import type { CatchUpOptions } from "../../src/cluster/clusterApi.js";
import type { ClusterApi } from "../../src/machineNode.js";
import type { Scheduler } from "../../src/testing/sim/scheduler.js";
import type { SimNetwork } from "../../src/testing/sim/simNetwork.js";
import type { ReplaceVia } from "./stackConfig.js";
import type { StackNode } from "./stackNode.js";

export interface MembershipStats {
  nodesLost: number;
  nodesAdded: number;
  removals: number;
  promotions: number;
  changesFailed: number;
  /** cluster.replace and staged cluster.addVoter calls that failed or were cut off (a retry follows). */
  steppedRetries: number;
}

/** How long the operator retries one membership call before giving up on it: longer than a run, as a person would keep at it. */
const STEP_DEADLINE_MS = 60_000;
/** How long one call may take on one node before the operator tries another. */
const CALL_MS = 1_500;
/** The same for a replace or a staged addVoter, which wait for the new node to catch up. */
const STEPPED_CALL_MS = 4_000;

/**
 * An operator who changes membership through the SDK's cluster API, as a person would: loses
 * a node for good, removes it (`cluster.remove`), adds a replacement as a learner
 * (`cluster.addLearner`), starts it with no bootstrap (it joins), and promotes it. Each call
 * goes to a node that says it leads (else any live one) and is retried elsewhere on failure.
 */
export class MembershipOperator {
  readonly stats: MembershipStats = {
    nodesLost: 0,
    nodesAdded: 0,
    removals: 0,
    promotions: 0,
    changesFailed: 0,
    steppedRetries: 0,
  };
  /** True while a change is under way; the liveness check waits for it. */
  busy = false;
  readonly #sched: Scheduler;
  readonly #rng: SeededRandom;
  readonly #nodes: StackNode[];
  readonly #addNode: () => StackNode;
  readonly #peers: () => Record<string, string>;
  readonly #fail: (msg: string) => void;
  readonly #trace: (line: string) => void;
  readonly #net: SimNetwork;
  /** One election timeout, in ms. */
  readonly #electionMs: number;
  readonly #via: ReplaceVia;
  readonly #crashMidway: boolean;
  readonly #restart: (n: StackNode) => void;

  constructor(o: {
    sched: Scheduler;
    rng: SeededRandom;
    nodes: StackNode[];
    addNode: () => StackNode;
    peers: () => Record<string, string>;
    fail: (msg: string) => void;
    trace: (line: string) => void;
    net: SimNetwork;
    electionMs: number;
    via: ReplaceVia;
    crashMidway: boolean;
    restart: (n: StackNode) => void;
  }) {
    this.#sched = o.sched;
    this.#rng = o.rng;
    this.#nodes = o.nodes;
    this.#addNode = o.addNode;
    this.#peers = o.peers;
    this.#fail = o.fail;
    this.#trace = o.trace;
    this.#net = o.net;
    this.#electionMs = o.electionMs;
    this.#via = o.via;
    this.#crashMidway = o.crashMidway;
    this.#restart = o.restart;
  }

  /** Loses `victim` for good and replaces it with a new member. */
  async replace(victim: StackNode): Promise<void> {
    this.busy = true;
    try {
      this.#lose(victim);
      await this.#replaceLost(victim);
    } finally {
      this.busy = false;
    }
  }

  /** Puts a new member in the place of `victim`, already lost, the way this seed draws. */
  async #replaceLost(victim: StackNode): Promise<void> {
    if (this.#via === "replace") return this.#replaceInOneCall(victim);
    if (!(await this.#remove(victim))) return;
    const fresh = this.#addNode();
    if (this.#via === "addVoter") {
      this.#startSoon(fresh);
      if (await this.#stepped(`addVoter ${fresh.id}`, (c, o) => c.addVoter(fresh.id, fresh.address, o))) {
        this.stats.nodesAdded++;
        this.stats.promotions++;
      }
      return;
    }
    if (!(await this.#step(`addLearner ${fresh.id}`, (c) => c.addLearner(fresh.id, fresh.address)))) return;
    this.stats.nodesAdded++;
    await this.#startFresh(fresh);
    await this.#sleep(300);
    if (await this.#step(`promote ${fresh.id}`, (c) => c.promote(fresh.id))) this.stats.promotions++;
  }

  /** `cluster.replace(victim, fresh)`, with the new node started a moment before or after the call. */
  async #replaceInOneCall(victim: StackNode): Promise<void> {
    const fresh = this.#addNode();
    this.#startSoon(fresh);
    let via: StackNode | null = null;
    const ok = await this.#stepped(`replace ${victim.id} by ${fresh.id}`, (c, o, n) => {
      via = n;
      return c.replace(victim.id, fresh.id, fresh.address, o);
    });
    if (!ok) return;
    this.stats.removals++;
    this.stats.nodesAdded++;
    this.stats.promotions++;
    const inc = (via as StackNode | null)?.live;
    if (inc && Object.hasOwn(inc.node.publishedMembers(), victim.id))
      this.#fail(
        `cluster.replace: replace(${victim.id} → ${fresh.id}) resolved on ${inc.raft.id}, but ${victim.id} is still published there`,
      );
  }

  /** Starts a new node (join, no bootstrap) after up to half a second. */
  #startSoon(fresh: StackNode): void {
    this.#sched.after(this.#rng.int(500), () => void this.#startFresh(fresh));
  }

  async #startFresh(fresh: StackNode): Promise<void> {
    try {
      await fresh.start(this.#peers(), false);
    } catch (e) {
      // Its disk failed while it started: it is down, and restarted like any crashed node.
      this.#trace(`operator: ${fresh.id} failed to start: ${(e as Error).message}`);
      fresh.crash();
    }
  }

  /**
   * A stepped call (replace, staged addVoter) retried until it completes: with a short catch-up
   * timeout (so a slow new node fails it at catchUp), and, once a seed asks, with the node
   * running it crashed mid-way. A retry must resume; what it reports is checked to end in done.
   */
  async #stepped(
    what: string,
    call: (c: ClusterApi, o: CatchUpOptions, n: StackNode) => Promise<void>,
  ): Promise<boolean> {
    let crash = this.#crashMidway;
    return this.#step(
      what,
      (c, n) => {
        const seen: string[] = [];
        const o: CatchUpOptions = {
          catchUpTimeoutMs: 300 + this.#rng.int(1_500),
          maxLagEntries: this.#rng.pick([0, 5, 100]),
          onProgress: (p) => void (p.phase !== "progress" && seen.push(p.step)),
        };
        if (crash) {
          crash = false;
          this.#sched.after(this.#rng.int(600), () => {
            if (!n.live) return;
            this.#trace(`operator: ${n.id} crashes while it runs ${what}`);
            n.crash();
            this.#sched.after(this.#electionMs * 2, () => this.#restart(n));
          });
        }
        return call(c, o, n).then(
          () => {
            if (seen.at(-1) !== "done")
              this.#fail(`${what} resolved on ${n.id} without reporting done (steps: ${seen.join(", ")})`);
          },
          (e: unknown) => {
            this.stats.steppedRetries++;
            throw e;
          },
        );
      },
      STEPPED_CALL_MS,
    );
  }

  /**
   * Shrinks 5 → 3 through joint consensus with the leader lost: the leader removes two followers
   * at once (`changeMembership`, leaving the joint configuration on its own); a moment later its
   * links to the two that stay may be cut (so the leave-joint entry reaches only the removed
   * ones) and it is lost. The lost leader is replaced through the SDK (the cluster must elect
   * a leader for that: thesis §4.3, a removed node may still be needed to decide), then the
   * removed nodes are removed through the SDK if the joint change was lost, and decommissioned.
   */
  async jointShrink(): Promise<void> {
    this.busy = true;
    try {
      const deadline = this.#sched.now + STEP_DEADLINE_MS;
      let leader = this.#leader();
      while (!leader && this.#sched.now < deadline) {
        await this.#sleep(50);
        leader = this.#leader();
      }
      if (!leader) return this.#trace("operator: no leader for the joint shrink");
      const members = this.#nodes.filter((n) => n !== leader && n.state !== "lost");
      const first = this.#rng.int(members.length - 1);
      const removed = members.slice(first, first + 2);
      const kept = members.filter((n) => !removed.includes(n));
      this.#trace(`operator: remove ${removed.map((n) => n.id).join(" and ")} at once via ${leader.id}`);
      leader
        .live!.raft.changeMembership(removed.map((n) => ({ type: "removeNode" as const, nodeId: n.id })))
        .catch(() => {});
      const tick = this.#electionMs / 10;
      if (this.#rng.chance(0.7)) {
        await this.#sleep(this.#rng.next() * 3 * tick);
        this.#trace(`operator: ${leader.id}'s links to ${kept.map((n) => n.id).join(", ")} are cut`);
        for (const n of kept) this.#net.block(leader.id, n.id);
      }
      await this.#sleep(this.#rng.next() * 4 * tick);
      this.#lose(leader);
      await this.#replaceLost(leader);
      // The joint change may have been lost with the leader: what it did not remove is removed now.
      for (const n of removed) {
        if (this.#isMember(n) && !(await this.#remove(n))) return;
        this.#trace(`operator: decommissions ${n.id}`);
        n.lose();
      }
    } finally {
      this.busy = false;
    }
  }

  #leader(): StackNode | undefined {
    return this.#nodes.find((n) => n.live?.raft.status().role === "leader");
  }

  /**
   * Shrinks the cluster by two with the leader lost: asks the leader (or any member) to remove
   * a follower and loses the leader a moment later, its change perhaps not committed; then
   * removes the lost leader and, if it is still a member, the follower, and decommissions it.
   */
  async shrink(): Promise<void> {
    this.busy = true;
    try {
      const members = this.#nodes.filter((n) => n.state !== "lost");
      const leader = members.find((n) => n.live?.raft.status().role === "leader");
      const victim = leader ?? members[this.#rng.int(members.length)]!;
      const others = members.filter((n) => n !== victim);
      const second = others[this.#rng.int(others.length)]!;
      const inc = victim.live;
      if (inc) {
        this.#trace(`operator: remove ${second.id} via ${victim.id}, which is lost before it answers`);
        inc.node.cluster.remove(second.id).catch(() => {});
        await this.#sleep(this.#rng.next() * 10);
      }
      this.#lose(victim);
      if (!(await this.#remove(victim))) return;
      if (this.#isMember(second) && !(await this.#remove(second))) return;
      this.#trace(`operator: decommissions ${second.id}`);
      second.lose();
    } finally {
      this.busy = false;
    }
  }

  /** Whether a live node that says it leads lists `n` as a member (true when no node says so: the removal is tried). */
  #isMember(n: StackNode): boolean {
    const s = this.#nodes.find((m) => m.live?.raft.status().role === "leader")?.live?.raft.status();
    if (!s) return true;
    return [...s.membership.voters, ...s.membership.learners].includes(n.id);
  }

  #lose(victim: StackNode): void {
    this.stats.nodesLost++;
    this.#trace(`operator: ${victim.id} is lost for good`);
    victim.lose();
  }

  /** Removes `id` through the SDK and checks that the member is forgotten, as `cluster.remove` promises. */
  async #remove(victim: StackNode): Promise<boolean> {
    let via: StackNode | null = null;
    const ok = await this.#step(`remove ${victim.id}`, (c, n) => {
      via = n;
      return c.remove(victim.id);
    });
    if (!ok) return false;
    this.stats.removals++;
    const inc = (via as StackNode | null)?.live;
    if (inc && Object.hasOwn(inc.node.publishedMembers(), victim.id)) {
      const p = inc.node.publishedMembers()[victim.id]!;
      this.#fail(
        `cluster.remove: remove(${victim.id}) resolved on ${inc.raft.id}, but ${victim.id} is still published there ` +
          `(incarnation ${p.incarnation}, published at log time ${p.since}, applied index ${inc.raft.status().applied})`,
      );
    }
    return true;
  }

  /** Runs a cluster call on a leader (or any live node), retrying elsewhere until it succeeds or the deadline passes. */
  async #step(
    what: string,
    call: (c: ClusterApi, n: StackNode) => Promise<void>,
    callMs = CALL_MS,
  ): Promise<boolean> {
    const deadline = this.#sched.now + STEP_DEADLINE_MS;
    while (this.#sched.now < deadline) {
      const live = this.#nodes.filter((n) => n.live);
      if (live.length > 0) {
        const leader = live.find((n) => n.live!.raft.status().role === "leader");
        const n = leader ?? live[this.#rng.int(live.length)]!;
        const outcome = await this.#within(call(n.live!.node.cluster, n), callMs);
        if (outcome === "ok") {
          this.#trace(`operator: ${what} via ${n.id}: done`);
          return true;
        }
        this.#trace(`operator: ${what} via ${n.id}: ${outcome}`);
      }
      await this.#sleep(50 + this.#rng.int(100));
    }
    this.stats.changesFailed++;
    this.#trace(`operator: gave up on ${what}`);
    return false;
  }

  #within(p: Promise<void>, ms: number): Promise<string> {
    return new Promise((resolve) => {
      this.#sched.after(ms, () => resolve("no answer"));
      p.then(
        () => resolve("ok"),
        (e: unknown) => resolve(`failed: ${(e as Error).message}`),
      );
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#sched.after(ms, resolve));
  }
}
