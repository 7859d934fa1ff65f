/** A node's identity in the cluster. Stable for the node's lifetime; never reused after removal. */
export type NodeId = string;

/** The absent node: no leader known, no vote cast. */
export const None: NodeId | null = null;

export type EntryType = "normal" | "confChange";

/**
 * One record of the replicated log.
 *
 * Invariant: `index` grows by one along the log; `term` never decreases along the log.
 */
export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** The application's payload (for "confChange", an encoded {@link ConfChange}). Empty for a leader's no-op. */
  data: Uint8Array;
}

/** What must be on stable storage before any message that depends on it is sent (Raft paper §5, Figure 2). */
export interface HardState {
  term: number;
  vote: NodeId | null;
  commit: number;
}

/**
 * The membership of the cluster. Outside a joint configuration `votersOutgoing` and
 * `learnersNext` are empty. `learnersNext` holds voters of the outgoing configuration that
 * become learners once the joint configuration is left.
 */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  votersOutgoing: NodeId[];
  learnersNext: NodeId[];
  autoLeave: boolean;
}

export interface SnapshotMeta {
  index: number;
  term: number;
  confState: ConfState;
}

/** A state-machine snapshot taken at `meta.index`; replaces every entry up to and including it. */
export interface Snapshot {
  meta: SnapshotMeta;
  data: Uint8Array;
}

/**
 * The kind of a message. Local messages never cross the network: `hup`, `beat`, `propose`
 * (also forwarded to the leader), `unreachable`, `snapshotStatus`, `checkQuorum`; `readIndex`
 * and `transferLeader` are local and may be forwarded to the leader.
 *
 * NB: the HTTP transport's wire codes are positions in this list: add new types at the end,
 * never reorder or remove.
 */
export const MESSAGE_TYPES = [
  "hup",
  "beat",
  "propose",
  "append",
  "appendResponse",
  "vote",
  "voteResponse",
  "preVote",
  "preVoteResponse",
  "snapshot",
  "heartbeat",
  "heartbeatResponse",
  "unreachable",
  "snapshotStatus",
  "checkQuorum",
  "transferLeader",
  "timeoutNow",
  "readIndex",
  "readIndexResponse",
] as const;

export type MessageType = (typeof MESSAGE_TYPES)[number];

/**
 * The unit of communication between Raft nodes, and of local input to {@link RawNode.step}.
 * Every field is always present so messages can be encoded without special cases.
 */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** The term of the entry at `index` (append), of the candidate's last entry (vote), or of the voter's entry at `commit` (rejected vote). */
  logTerm: number;
  /** The index just before `entries` (append); the candidate's last index (vote); the matched or rejected index (append response). */
  index: number;
  entries: Entry[];
  /** The leader's commit index (append, heartbeat); the voter's (rejected vote, with its entry's term in `logTerm`). */
  commit: number;
  reject: boolean;
  /** On a rejected append: the follower's best guess of where the logs could match. */
  rejectHint: number;
  snapshot: Snapshot | null;
  /** Opaque bytes: a read request's id, or a campaign's reason ("transfer"). */
  context: Uint8Array | null;
}

export type Role = "follower" | "preCandidate" | "candidate" | "leader";

/** Volatile state that the application may want to observe; it is not persisted. */
export interface SoftState {
  lead: NodeId | null;
  role: Role;
}

/** A linearizable read has become safe: once the application has applied up to `index`, it may serve the read `requestCtx`. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

/**
 * Everything the application must do, handed out in one batch by {@link RawNode.ready}.
 *
 * The caller must, in order: persist `hardState`, `entries` and `snapshot` (durably when
 * `mustSync`); send `messages`; apply `snapshot` then `committedEntries`; then pass the same
 * Ready back to {@link RawNode.advance}. A leader may send its messages before its own
 * entries are durable (Raft thesis §10.2.1); every other message must wait for the write.
 */
export interface Ready {
  /** Set when leader or role changed since the previous Ready. */
  softState: SoftState | null;
  /** Set when term, vote or commit changed since the previous Ready. */
  hardState: HardState | null;
  entries: Entry[];
  snapshot: Snapshot | null;
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  /** Whether `hardState`, `entries` and `snapshot` must reach stable storage before `messages` are sent. */
  mustSync: boolean;
}

export type ProgressState = "probe" | "replicate" | "snapshot";

/** What a leader knows about one follower's log. */
export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  isLearner: boolean;
  recentActive: boolean;
  paused: boolean;
  inflight: number;
  pendingSnapshot: number;
}

export interface Status {
  id: NodeId;
  term: number;
  vote: NodeId | null;
  commit: number;
  applied: number;
  lead: NodeId | null;
  role: Role;
  leadTransferee: NodeId | null;
  config: ConfState;
  /** On a leader: each member's progress, the leader's own included. Empty otherwise. */
  progress: Record<NodeId, ProgressStatus>;
}

/** Fills the fields of a message that a caller does not set. */
export function message(fields: Partial<Message> & Pick<Message, "type">): Message {
  return {
    from: "",
    to: "",
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    snapshot: null,
    context: null,
    ...fields,
  };
}

export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

export function isEmptySnapshot(s: Snapshot | null): boolean {
  return s === null || s.meta.index === 0;
}

export function isLocalMessage(type: MessageType): boolean {
  return (
    type === "hup" ||
    type === "beat" ||
    type === "unreachable" ||
    type === "snapshotStatus" ||
    type === "checkQuorum"
  );
}

export function isResponseMessage(type: MessageType): boolean {
  return (
    type === "appendResponse" ||
    type === "voteResponse" ||
    type === "heartbeatResponse" ||
    type === "unreachable" ||
    type === "preVoteResponse"
  );
}

/** The response type that answers a vote or pre-vote request. */
export function voteResponseType(type: "vote" | "preVote"): "voteResponse" | "preVoteResponse" {
  return type === "vote" ? "voteResponse" : "preVoteResponse";
}
