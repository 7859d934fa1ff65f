import { type LinkFaults, QUIET_LINKS } from "./network.js";
import type { Rng } from "./rng.js";
import { between } from "./rng.js";

/** Everything about one simulated run that its seed decides up front. */
export interface RunConfig {
  nodes: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** Small limits exercise batching and flow control; undefined keeps the core's default. */
  maxSizePerMsg: number | undefined;
  maxInflightMsgs: number | undefined;
  maxInflightBytes: number | undefined;
  maxUncommittedEntriesSize: number | undefined;
  disableProposalForwarding: boolean;
  /**
   * A leader tells followers a new commit only with new entries, or 2 ms later if none came (as
   * RaftNode does by default, see RaftConfig.deferCommitBroadcast). Decided by the seed's parity,
   * not drawn, so that the draws (and runs) of seeds without it stay as they were.
   */
  deferCommitBroadcast: boolean;
  /**
   * Nodes run as a RaftNode without leaseReads does (RaftConfig.campaignSoonAfterStart instead
   * of ignoreVotesAfterStart), and hear what its transport reports: a peer that is down refuses
   * connections (reportGone), one that restarts or is healed is reachable (reportReachable).
   * With preVote and checkQuorum, on seeds whose second bit is set; not drawn, as above.
   */
  campaignSoonAfterStart: boolean;
  /** Snapshot and compact the log once this many entries were applied since the last snapshot; null: never. */
  compaction: { every: number; keep: number } | null;
  links: LinkFaults;
  /** Mean ms between new partitions (0: none). A partition heals after `partitionLength` ms at most. */
  partitionEvery: number;
  partitionLength: number;
  /** Mean ms between node crashes (0: none); a crashed node restarts after `downtime` ms at most. */
  crashEvery: number;
  downtime: number;
  /** Mean ms between process pauses (0: none): a paused node neither ticks nor handles messages for up to `pauseLength` ms. */
  pauseEvery: number;
  pauseLength: number;
  /** Mean ms between leadership transfer requests (0: none). */
  transferEvery: number;
  /**
   * Mean ms between membership changes (0: none): learners added and promoted, voters added,
   * removed (the leader too) and demoted, nodes replaced and the cluster grown or shrunk through
   * joint consensus.
   */
  confChangeEvery: number;
  clients: number;
  /** Most ms a client waits between its operations. */
  think: number;
  /** Ms after which a client gives up on an operation (its outcome becomes unknown). */
  opTimeout: number;
}

/** Draws a run's configuration from the PRNG (the first draws of the seed's stream). */
export function drawRunConfig(rng: Rng): Omit<RunConfig, "deferCommitBroadcast" | "campaignSoonAfterStart"> {
  const nodes = rng.chance(0.5) ? 3 : 5;
  const preVote = rng.chance(0.5);
  const checkQuorum = rng.chance(0.5);
  const maxSizePerMsg = rng.chance(0.25) ? between(rng, 60, 400) : undefined;
  const maxInflightMsgs = rng.chance(0.25) ? between(rng, 1, 4) : undefined;
  const maxInflightBytes =
    maxSizePerMsg !== undefined && rng.chance(0.3)
      ? between(rng, maxSizePerMsg, 3 * maxSizePerMsg)
      : undefined;
  const maxUncommittedEntriesSize = rng.chance(0.15) ? between(rng, 50, 600) : undefined;
  const disableProposalForwarding = rng.chance(0.1);
  const compaction = rng.chance(0.4) ? { every: between(rng, 3, 40), keep: between(rng, 0, 5) } : null;
  const links: LinkFaults = {
    dropRate: rng.chance(0.7) ? rng.next() * 0.1 : 0,
    duplicateRate: rng.chance(0.5) ? rng.next() * 0.05 : 0,
    longDelayRate: rng.chance(0.5) ? rng.next() * 0.03 : 0,
    minDelay: 1,
    maxDelay: between(rng, 5, 30),
    longDelayMin: 100,
    longDelayMax: between(rng, 200, 2000),
  };
  return {
    nodes,
    preVote,
    checkQuorum,
    maxSizePerMsg,
    maxInflightMsgs,
    maxInflightBytes,
    maxUncommittedEntriesSize,
    disableProposalForwarding,
    compaction,
    links,
    partitionEvery: rng.chance(0.75) ? between(rng, 150, 1200) : 0,
    partitionLength: between(rng, 100, 1500),
    crashEvery: rng.chance(0.75) ? between(rng, 150, 1200) : 0,
    downtime: between(rng, 20, 1000),
    pauseEvery: rng.chance(0.4) ? between(rng, 200, 1500) : 0,
    pauseLength: between(rng, 30, 600),
    transferEvery: rng.chance(0.4) ? between(rng, 100, 1000) : 0,
    clients: between(rng, 3, 6),
    think: between(rng, 2, 40),
    opTimeout: 500,
    confChangeEvery: rng.chance(0.8) ? between(rng, 100, 700) : 0,
  };
}

/**
 * Named variations of the configuration a seed draws, for bug hunts (`pnpm sim --profile NAME`):
 * each replaces some of the drawn fields.
 */
export const PROFILES = {
  /** As drawn. */
  default: {},
  /** Membership changes all the time. */
  churn: { confChangeEvery: 60 },
  /** Membership changes on a quiet network without crashes, pauses, partitions or transfers. */
  calm: {
    links: QUIET_LINKS,
    partitionEvery: 0,
    crashEvery: 0,
    pauseEvery: 0,
    transferEvery: 0,
    confChangeEvery: 80,
  },
  /** Frequent crashes and snapshots during membership changes: restarts from snapshots with changed memberships. */
  crashy: { crashEvery: 150, downtime: 300, compaction: { every: 5, keep: 1 }, confChangeEvery: 100 },
  /** Few client writes, so logs often tie (a node that missed its removal can look up to date). */
  idle: { clients: 1, think: 300, confChangeEvery: 100, transferEvery: 150 },
} satisfies Record<string, Partial<RunConfig>>;
export type ProfileName = keyof typeof PROFILES;

/** A one-line summary for traces and failure reports. */
export function describeRunConfig(c: RunConfig): string {
  const l = c.links;
  const parts = [
    `${c.nodes} nodes`,
    `preVote=${c.preVote}`,
    `checkQuorum=${c.checkQuorum}`,
    c.maxSizePerMsg === undefined ? "" : `maxSizePerMsg=${c.maxSizePerMsg}`,
    c.maxInflightMsgs === undefined ? "" : `maxInflightMsgs=${c.maxInflightMsgs}`,
    c.maxInflightBytes === undefined ? "" : `maxInflightBytes=${c.maxInflightBytes}`,
    c.maxUncommittedEntriesSize === undefined
      ? ""
      : `maxUncommittedEntriesSize=${c.maxUncommittedEntriesSize}`,
    c.disableProposalForwarding ? "no proposal forwarding" : "",
    c.deferCommitBroadcast ? "deferred commit broadcast" : "",
    c.campaignSoonAfterStart ? "campaign soon after start, peers reported gone and reachable" : "",
    c.compaction ? `compact every ${c.compaction.every} keep ${c.compaction.keep}` : "",
    `drop=${pct(l.dropRate)} dup=${pct(l.duplicateRate)} long=${pct(l.longDelayRate)}(≤${l.longDelayMax}ms) delay≤${l.maxDelay}ms`,
    c.partitionEvery ? `partitions ~${c.partitionEvery}ms (≤${c.partitionLength}ms)` : "no partitions",
    c.crashEvery ? `crashes ~${c.crashEvery}ms (≤${c.downtime}ms down)` : "no crashes",
    c.pauseEvery ? `pauses ~${c.pauseEvery}ms (≤${c.pauseLength}ms)` : "",
    c.transferEvery ? `transfers ~${c.transferEvery}ms` : "",
    c.confChangeEvery ? `membership changes ~${c.confChangeEvery}ms` : "no membership changes",
    `${c.clients} clients`,
  ];
  return parts.filter((p) => p !== "").join(", ");
}

function pct(p: number): string {
  return `${(p * 100).toFixed(1)}%`;
}
