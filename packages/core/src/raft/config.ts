import { ConfigError } from "../errors.js";
import { type Logger, silentLogger } from "./logger.js";
import { type Random, SeededRandom } from "./random.js";
import type { Storage } from "./storage.js";
import type { NodeId } from "./types.js";

/** How a {@link RawNode} behaves. Only `id`, `storage`, `electionTick` and `heartbeatTick` are required. */
export interface RaftConfig {
  id: NodeId;
  /** The node's log as persisted so far; read on start and whenever entries are needed. */
  storage: Storage;
  /**
   * Ticks without hearing from a leader before a follower campaigns. The actual timeout is
   * drawn at random from [electionTick, 2·electionTick) each time it is reset. Must exceed
   * heartbeatTick; 10× is usual.
   */
  electionTick: number;
  /** Ticks between a leader's heartbeats. */
  heartbeatTick: number;
  /** The last index the application has applied; only set when restarting. */
  applied?: number;
  /** Most bytes of entries in one append message (always at least one entry). Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Most bytes of committed entries handed out in one Ready. Default: maxSizePerMsg. */
  maxCommittedSizePerReady?: number;
  /** Most append messages in flight to one follower in the replicate state. Default 256. */
  maxInflightMsgs?: number;
  /** Most bytes of entries in flight to one follower; 0 for no limit. Default 0. */
  maxInflightBytes?: number;
  /** Most bytes of uncommitted payload a leader accepts before dropping proposals; 0 for no limit. Default 0. */
  maxUncommittedEntriesSize?: number;
  /** A leader steps down when it has not heard from a quorum for an election timeout (Raft thesis §6.2). Default false. */
  checkQuorum?: boolean;
  /** Run a pre-election before campaigning so a rejoining node cannot disrupt the cluster (Raft thesis §9.6). Default false. */
  preVote?: boolean;
  /**
   * After start, ignore vote and pre-vote requests for one election timeout, as if a leader had
   * just been heard from (needs checkQuorum, which is what makes nodes ignore them at all). A
   * restarted node has forgotten hearing from the leader; without this it could help elect a new
   * leader inside the old leader's lease. Costs a fresh cluster at most one election timeout.
   * Default false.
   */
  ignoreVotesAfterStart?: boolean;
  /**
   * Until a leader is heard from (or this node leads), draw election timeouts from
   * [L, electionTick/2] ticks instead of [electionTick, 2·electionTick), so a restarted
   * cluster with no leader elects one at once, and a split vote among restarted members is
   * retried as soon; a leader that steps down for lack of a quorum does the same. L, two
   * heartbeat intervals (2 ticks by default), is a listening window after start during which
   * the node also ignores vote requests, so a live leader's heartbeat reaches it first.
   * Safe only with pre-vote and check-quorum: while a leader lives, its followers ignore the
   * early pre-vote (they heard from it within the election timeout), so it fails without
   * raising any term and the node follows the leader's next heartbeat. Requires preVote and
   * checkQuorum, and excludes ignoreVotesAfterStart (which would refuse the votes it needs).
   * Default false.
   */
  campaignSoonAfterStart?: boolean;
  /** Drop proposals on a follower instead of forwarding them to the leader. Default false. */
  disableProposalForwarding?: boolean;
  /** Randomness for election timeouts. Default: seeded from the node id, so runs are reproducible. */
  random?: Random;
  logger?: Logger;
}

/** A {@link RaftConfig} with every default filled in. */
export type ResolvedConfig = Required<RaftConfig>;

/** Seeds the default random source from the node id, so runs are reproducible without configuration. */
function seedFromId(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Checks a config and fills in the defaults; throws {@link ConfigError} saying what is wrong. */
export function resolveConfig(c: RaftConfig): ResolvedConfig {
  if (typeof c.id !== "string" || c.id === "") throw new ConfigError("id must be a non-empty string");
  if (!Number.isInteger(c.heartbeatTick) || c.heartbeatTick <= 0) {
    throw new ConfigError(`heartbeatTick must be a positive integer, got ${c.heartbeatTick}`);
  }
  if (!Number.isInteger(c.electionTick) || c.electionTick <= c.heartbeatTick) {
    throw new ConfigError(
      `electionTick (${c.electionTick}) must be an integer greater than heartbeatTick (${c.heartbeatTick})`,
    );
  }
  const maxSizePerMsg = c.maxSizePerMsg ?? 1024 * 1024;
  const maxInflightMsgs = c.maxInflightMsgs ?? 256;
  if (maxInflightMsgs <= 0) throw new ConfigError("maxInflightMsgs must be greater than 0");
  const maxInflightBytes = c.maxInflightBytes ?? 0;
  if (maxInflightBytes !== 0 && maxInflightBytes < maxSizePerMsg) {
    throw new ConfigError("maxInflightBytes must be 0 (no limit) or at least maxSizePerMsg");
  }
  const checkQuorum = c.checkQuorum ?? false;
  const campaignSoonAfterStart = c.campaignSoonAfterStart ?? false;
  if (campaignSoonAfterStart && !(checkQuorum && c.preVote && !c.ignoreVotesAfterStart)) {
    throw new ConfigError(
      "campaignSoonAfterStart needs preVote and checkQuorum, and cannot be combined with ignoreVotesAfterStart",
    );
  }
  return {
    id: c.id,
    storage: c.storage,
    electionTick: c.electionTick,
    heartbeatTick: c.heartbeatTick,
    applied: c.applied ?? 0,
    maxSizePerMsg,
    maxCommittedSizePerReady: c.maxCommittedSizePerReady ?? maxSizePerMsg,
    maxInflightMsgs,
    maxInflightBytes,
    maxUncommittedEntriesSize: c.maxUncommittedEntriesSize ?? 0,
    checkQuorum,
    preVote: c.preVote ?? false,
    ignoreVotesAfterStart: c.ignoreVotesAfterStart ?? false,
    campaignSoonAfterStart,
    disableProposalForwarding: c.disableProposalForwarding ?? false,
    random: c.random ?? new SeededRandom(seedFromId(c.id)),
    logger: c.logger ?? silentLogger,
  };
}
