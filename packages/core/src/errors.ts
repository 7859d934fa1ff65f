/** Machine-readable reason carried by every raftkit error. */
export type RaftkitErrorCode =
  | "PROPOSAL_DROPPED"
  | "COMPACTED"
  | "SNAPSHOT_OUT_OF_DATE"
  | "UNAVAILABLE"
  | "SNAPSHOT_TEMPORARILY_UNAVAILABLE"
  | "CONFIG_INVALID"
  | "CONF_CHANGE_REFUSED"
  | "STEP_LOCAL_MESSAGE"
  | "STEP_PEER_NOT_FOUND"
  | "BOOTSTRAP"
  | "STOPPED"
  | "TIMEOUT"
  | "PROPOSAL_LOST"
  | "MALFORMED_MESSAGE"
  | "CORRUPT_WAL"
  | "CORRUPT_LOG"
  | "CORRUPT_SNAPSHOT"
  | "LOCKED"
  | "IDENTITY_MISMATCH"
  | "CLUSTER_EXISTS"
  | "DECODE"
  | "TRANSPORT_NOT_RUNNING"
  | "STORAGE_LOCKED"
  | "STORAGE_FAILED"
  | "STORAGE_CLOSED"
  | "SESSION_EXPIRED"
  | "LEADER_CHANGED"
  | "VALIDATION"
  | "NONDETERMINISM"
  | "DIVERGED"
  | "MACHINE_TOO_OLD"
  | "COMMAND_NOT_AVAILABLE"
  | "UPGRADE_REFUSED"
  | "MEMBERSHIP_INCOMPLETE";

/** Base class of every error raftkit throws on purpose. `code` says what happened; the message says what to do. */
export class RaftkitError extends Error {
  readonly code: RaftkitErrorCode;
  constructor(code: RaftkitErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

export type ProposalDropReason =
  | "no leader"
  | "leadership transfer in progress"
  | "uncommitted size limit"
  | "proposal forwarding disabled"
  | "not a member"
  | "configuration change pending";

/** A proposal was not accepted into the log; nothing was appended. Retrying later may succeed. */
export class ProposalDroppedError extends RaftkitError {
  readonly reason: ProposalDropReason;
  constructor(nodeId: string, reason: ProposalDropReason, detail?: string) {
    super(
      "PROPOSAL_DROPPED",
      `node ${nodeId} dropped the proposal: ${reason}${detail ? ` (${detail})` : ""}; retry once a leader is known`,
    );
    this.reason = reason;
  }
}

/** The requested index lies before the first index still in storage: it was compacted into a snapshot. */
export class CompactedError extends RaftkitError {
  constructor(index: number, firstIndex: number) {
    super(
      "COMPACTED",
      `index ${index} is compacted (first available index is ${firstIndex}); use the snapshot`,
    );
  }
}

/** The requested index lies beyond the last index in storage. */
export class UnavailableError extends RaftkitError {
  constructor(index: number, lastIndex: number) {
    super("UNAVAILABLE", `index ${index} is not in storage (last index is ${lastIndex})`);
  }
}

/** A snapshot older than the one already held was offered. */
export class SnapshotOutOfDateError extends RaftkitError {
  constructor(index: number, current: number) {
    super("SNAPSHOT_OUT_OF_DATE", `snapshot at index ${index} is older than the current one at ${current}`);
  }
}

/** Storage cannot produce a snapshot right now; the leader retries later. */
export class SnapshotTemporarilyUnavailableError extends RaftkitError {
  constructor() {
    super("SNAPSHOT_TEMPORARILY_UNAVAILABLE", "snapshot is temporarily unavailable; retry later");
  }
}

/** A {@link RaftConfig} that cannot work. */
export class ConfigError extends RaftkitError {
  constructor(message: string) {
    super("CONFIG_INVALID", `invalid raft config: ${message}`);
  }
}

/**
 * The node was stopped (by `stop()`, or by a fatal error: `reason` says which); the call did
 * not complete. Whether a proposal that was already under way is applied is unknown.
 */
export class StoppedError extends RaftkitError {
  readonly nodeId: string;
  readonly reason: string | null;
  constructor(nodeId: string, what: string, reason: string | null = null) {
    super("STOPPED", `node ${nodeId} stopped before ${what} completed${reason ? `: ${reason}` : ""}`);
    this.nodeId = nodeId;
    this.reason = reason;
  }
}

/**
 * This node's log contradicts what it knows is committed (a message would overwrite a
 * committed entry, or commit past the end of the log): its storage lost or changed durable
 * data, or the cluster's safety is broken. Continuing could apply or acknowledge wrong
 * entries, so the node must stop (etcd panics here) and an operator must repair it.
 */
export class CorruptLogError extends RaftkitError {
  readonly nodeId: string;
  /** The log index at which the contradiction was found. */
  readonly index: number;
  constructor(nodeId: string, index: number, detail: string) {
    super("CORRUPT_LOG", `node ${nodeId}: ${detail}`);
    this.nodeId = nodeId;
    this.index = index;
  }
}

/**
 * A call took longer than its deadline. For a proposal the outcome is unknown
 * (`mayHaveBeenApplied`): it may still commit; retry only with a session that deduplicates.
 */
export class TimeoutError extends RaftkitError {
  readonly mayHaveBeenApplied: boolean;
  constructor(nodeId: string, what: string, ms: number, mayHaveBeenApplied: boolean) {
    super(
      "TIMEOUT",
      `node ${nodeId}: ${what} timed out after ${ms} ms${mayHaveBeenApplied ? " (it may still be applied)" : ""}; check that a leader is elected and a quorum is reachable`,
    );
    this.mayHaveBeenApplied = mayHaveBeenApplied;
  }
}

/** A proposal's log entry was replaced by a new leader's entry: it was definitely not applied and can be retried. */
export class ProposalLostError extends RaftkitError {
  constructor(nodeId: string, index: number) {
    super(
      "PROPOSAL_LOST",
      `node ${nodeId}: the proposal at index ${index} was overwritten after a leader change and was not applied; retry it`,
    );
  }
}

/**
 * The leader this node forwarded a proposal to was replaced (or elected again at a later term)
 * before the proposal was applied here. Its outcome is unknown (`mayHaveBeenApplied` is always true): the old leader may have
 * replicated it, and the new one may commit it. Retry at once only with a session that
 * deduplicates (the SDK's commands do); the retry reaches the new leader without waiting out a
 * timeout.
 */
export class LeaderChangedError extends RaftkitError {
  readonly mayHaveBeenApplied = true;
  constructor(nodeId: string, from: string, to: string | null) {
    const replaced =
      from === to
        ? "which was elected again at a later term (it may have restarted and lost it)"
        : `which was replaced (now ${to ?? "no leader"})`;
    super(
      "LEADER_CHANGED",
      `node ${nodeId}: the proposal was forwarded to leader ${from}, ${replaced} before it was applied here; it may still be applied: retry only with a session that deduplicates`,
    );
  }
}
