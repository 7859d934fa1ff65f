import type { SeededRandom } from "@raftkit/core";
import type { LinkFaults } from "../../src/testing/sim/simNetwork.js";

/** Everything a seed decides about a run before it starts. */
export interface StackConfig {
  nodes: 3 | 5;
  tickMs: number;
  electionTick: number;
  snapshotEntries: number;
  snapshotCatchUpEntries: number;
  /**
   * Log-time TTL of client sessions: sometimes short, so idle sessions expire during a run.
   * NB: it must exceed the spread of the nodes' wall clocks (see {@link maxClockOffset}): a
   * session is stamped by its client's clock and expires by the log's.
   */
  sessionTtlMs: number;
  diskLatencyMs: number;
  links: LinkFaults;
  clients: number;
  keys: number;
  /** Share of reads among operations, and of lease reads among reads. */
  readShare: number;
  leaseShare: number;
  /** Share of `inspect` commands (a result holding a draft). */
  inspectShare: number;
  /** Mean simulated ms between two faults. */
  faultEveryMs: number;
  /** Which kinds of fault this seed injects. */
  crashes: boolean;
  pauses: boolean;
  partitions: boolean;
  clockFaults: boolean;
  diskErrors: boolean;
  /** Lose a node for good and replace it through the cluster API (on 5 nodes: maybe shrink to 3). */
  replace: "none" | "replace" | "shrink";
  /** With `replace: "shrink"`: remove two voters at once (joint consensus) instead of one at a time. */
  jointShrink: boolean;
  /** Flip a bit in a complete WAL frame of one crashed node's disk, which must then refuse to start. */
  corruption: boolean;
  /**
   * How the operator puts a new member in a lost one's place: remove, addLearner and promote
   * one call at a time ("steps"), `cluster.replace` ("replace"), or remove and a staged
   * `cluster.addVoter` ("addVoter").
   */
  replaceVia: ReplaceVia;
  /** With `replaceVia` replace or addVoter: the node running the call crashes while it runs (it is restarted, and the call retried elsewhere). */
  crashMidway: boolean;
  /**
   * The registers sit in a SortedMap instead of a plain object (see kvMachine.ts). Never drawn,
   * so every seed runs as before it was added; set by `--sorted` and the SortedMap stack test.
   */
  sortedState: boolean;
}

export type ReplaceVia = "steps" | "replace" | "addVoter";

export const FAULT_KINDS = ["crashes", "pauses", "partitions", "clockFaults", "diskErrors"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Draws a run's configuration from its seed's stream. */
export function drawStackConfig(rng: SeededRandom): StackConfig {
  const nodes = rng.chance(0.6) ? 3 : 5;
  const tickMs = rng.pick([10, 20]);
  const calm = rng.chance(0.15);
  return {
    nodes,
    tickMs,
    electionTick: rng.pick([10, 15]),
    snapshotEntries: rng.pick([16, 40, 100]),
    snapshotCatchUpEntries: rng.pick([2, 8, 30]),
    sessionTtlMs: rng.pick([8_000, 60_000]),
    diskLatencyMs: rng.pick([0, 1, 3]),
    links: {
      loss: calm ? 0 : rng.pick([0, 0.01, 0.05, 0.1]),
      duplicate: calm ? 0 : rng.pick([0, 0.02, 0.05]),
      minDelayMs: 0.5,
      maxDelayMs: rng.pick([2, 5, 10]),
      slow: rng.pick([0, 0.02, 0.05]),
      slowDelayMs: tickMs * 5,
      redeliver: 0,
      redeliverWaitMs: 0,
    },
    clients: 2 + rng.int(4),
    keys: 1 + rng.int(3),
    readShare: rng.pick([0.3, 0.5, 0.7]),
    leaseShare: rng.pick([0.3, 0.5]),
    inspectShare: rng.pick([0, 0.03, 0.1]),
    faultEveryMs: rng.pick([100, 250, 500]),
    crashes: !calm && rng.chance(0.7),
    pauses: !calm && rng.chance(0.6),
    partitions: !calm && rng.chance(0.7),
    clockFaults: !calm && rng.chance(0.5),
    diskErrors: !calm && rng.chance(0.4),
    replace: calm
      ? "none"
      : nodes === 5
        ? rng.pick(["none", "replace", "shrink"])
        : rng.pick(["none", "replace"]),
    jointShrink: false,
    corruption: false,
    replaceVia: "steps",
    crashMidway: false,
    sortedState: false,
  };
}

/**
 * Draws how the operator replaces a lost member, from a stream of its own (so that a seed
 * that keeps "steps" runs exactly as before these were added).
 */
export function drawReplaceVia(c: StackConfig, rng: SeededRandom): StackConfig {
  const replaceVia = rng.pick<ReplaceVia>(["steps", "replace", "replace", "addVoter"]);
  return { ...c, replaceVia, crashMidway: replaceVia !== "steps" && rng.chance(0.4) };
}

/**
 * Draws the faults added after the first configurations from a stream of their own, so that
 * every seed keeps the rest of its configuration: late redelivery to a restarted node,
 * corruption of a crashed node's disk, and the joint shrink (on 5 nodes, sometimes instead of none).
 */
export function drawLaterFaults(c: StackConfig, rng: SeededRandom): StackConfig {
  const calm = !(c.crashes || c.pauses || c.partitions || c.clockFaults || c.diskErrors);
  const election = c.tickMs * c.electionTick;
  const redeliver = calm || !c.crashes ? 0 : rng.pick([0, 0, 0.3, 0.8]);
  const replace = c.nodes === 5 && c.replace === "none" && !calm && rng.chance(0.3) ? "shrink" : c.replace;
  return {
    ...c,
    links: { ...c.links, redeliver, redeliverWaitMs: redeliver > 0 ? election : 0 },
    replace,
    jointShrink: replace === "shrink" && rng.chance(0.6),
    // A damaged node is lost for good: never beside another permanent loss, which would leave no quorum.
    corruption: c.crashes && replace === "none" && rng.chance(0.4),
  };
}

/** How far a node's wall clock may be from true time (offset and jumps together): a tenth of the session TTL. */
export function maxClockOffset(c: StackConfig): number {
  return c.sessionTtlMs / 10;
}

export function describeStackConfig(c: StackConfig): string {
  const faults = FAULT_KINDS.filter((k) => c[k]);
  return (
    `${c.nodes} nodes, tick ${c.tickMs} ms × ${c.electionTick}, snapshot every ${c.snapshotEntries} (keep ${c.snapshotCatchUpEntries}), ` +
    `loss ${c.links.loss}, dup ${c.links.duplicate}, delay ≤${c.links.maxDelayMs} ms, ${c.clients} clients on ${c.keys} keys, ` +
    `faults every ~${c.faultEveryMs} ms: ${faults.join(", ") || "none"}, membership: ${c.replace}${c.jointShrink ? " (joint)" : ""}` +
    `${c.links.redeliver ? `, late redelivery ${c.links.redeliver}` : ""}${c.corruption ? ", disk corruption" : ""}` +
    `${c.replaceVia !== "steps" ? `, replaced via ${c.replaceVia}${c.crashMidway ? " (a crash mid-way)" : ""}` : ""}` +
    `${c.sortedState ? ", state in a SortedMap" : ""}`
  );
}

export { deriveSeed } from "@raftkit/core";
