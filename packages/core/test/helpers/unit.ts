/**
 * Small builders for white-box unit tests of one node: a MemoryStorage pre-filled with a
 * membership, a log and a hard state, and a {@link UnitNode} that wraps a RawNode so a test
 * can step hand-built messages into it and read what it sends, with or without persisting.
 */
import {
  decodeConfChange,
  type Entry,
  emptyConfState,
  MemoryStorage,
  type Message,
  message,
  type NodeId,
  type RaftConfig,
  RawNode,
  type ReadState,
  type Ready,
  SeededRandom,
} from "../../src/index.js";
import type { Raft } from "../../src/raft/raft.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function enc(s: string): Uint8Array {
  return encoder.encode(s);
}

export function dec(b: Uint8Array | null): string {
  return b === null ? "" : decoder.decode(b);
}

/** One log entry; `data` is text for readability. */
export function entry(index: number, term: number, data = ""): Entry {
  return { index, term, type: "normal", data: enc(data) };
}

/** Entries whose terms are `terms`, the first at index `start`. */
export function entriesWithTerms(terms: readonly number[], start = 1): Entry[] {
  return terms.map((t, i) => entry(start + i, t));
}

export interface StorageSpec {
  voters: NodeId[];
  learners?: NodeId[];
  /** The terms of the log's entries, from index 1. */
  terms?: number[];
  /** Defaults to the last entry's term. */
  term?: number;
  vote?: NodeId | null;
  commit?: number;
}

/** A MemoryStorage holding a membership (as a snapshot at index 0), a log and a hard state. */
export function newStorage(spec: StorageSpec): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot({
    meta: {
      index: 0,
      term: 0,
      confState: { ...emptyConfState(), voters: [...spec.voters], learners: [...(spec.learners ?? [])] },
    },
    data: new Uint8Array(),
  });
  const terms = spec.terms ?? [];
  s.append(entriesWithTerms(terms));
  s.setHardState({
    term: spec.term ?? terms[terms.length - 1] ?? 0,
    vote: spec.vote ?? null,
    commit: spec.commit ?? 0,
  });
  return s;
}

export type NodeSpec = StorageSpec & Partial<Omit<RaftConfig, "id" | "storage">> & { seed?: number };

/** Config defaults of every unit test node: electionTick 10, heartbeatTick 1. */
export const ELECTION_TICK = 10;
export const HEARTBEAT_TICK = 1;

/**
 * One node for unit tests. `step` feeds a message as a peer would (through RawNode.step),
 * `stepLocal` feeds any message straight to the Raft state machine, `take` drains the
 * outgoing messages without persisting anything, and `persist` carries out every pending
 * Ready (write, apply, advance) and returns its messages.
 */
export class UnitNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  readonly config: Omit<RaftConfig, "storage">;
  rn: RawNode;
  applied: Entry[] = [];
  readStates: ReadState[] = [];

  constructor(id: NodeId, spec: NodeSpec) {
    const { voters, learners, terms, term, vote, commit, seed, ...opts } = spec;
    this.id = id;
    this.storage = newStorage({
      voters,
      ...(learners ? { learners } : {}),
      ...(terms ? { terms } : {}),
      ...(term !== undefined ? { term } : {}),
      ...(vote !== undefined ? { vote } : {}),
      ...(commit !== undefined ? { commit } : {}),
    });
    this.config = {
      id,
      electionTick: ELECTION_TICK,
      heartbeatTick: HEARTBEAT_TICK,
      random: new SeededRandom(seed ?? 1),
      ...opts,
    };
    this.rn = new RawNode({ ...this.config, storage: this.storage });
  }

  /** The Raft state machine inside, for white-box checks. */
  get r(): Raft {
    return this.rn.raft;
  }

  /** Steps a message as if it came from a peer (`to` defaults to this node). */
  step(fields: Partial<Message> & Pick<Message, "type">): void {
    this.rn.step(message({ to: this.id, ...fields }));
  }

  /** Steps any message (local ones too) straight into the state machine. */
  stepLocal(fields: Partial<Message> & Pick<Message, "type">): void {
    this.r.step(message({ to: this.id, from: this.id, ...fields }));
  }

  /** The messages queued so far, removed from the node. Nothing is persisted. */
  take(): Message[] {
    const ms = this.r.msgs;
    this.r.msgs = [];
    return ms;
  }

  /** Carries out every pending Ready (persist, apply, advance) and returns their messages. */
  persist(): Message[] {
    const out: Message[] = [];
    for (let rd = this.readyOnce(); rd !== null; rd = this.readyOnce()) out.push(...rd.messages);
    return out;
  }

  /** Carries out one Ready if there is one. */
  readyOnce(): Ready | null {
    if (!this.rn.hasReady()) return null;
    const rd = this.rn.ready();
    this.write(rd);
    this.apply(rd);
    this.rn.advance(rd);
    return rd;
  }

  /** Writes a Ready's snapshot, entries and hard state to storage. */
  write(rd: Ready): void {
    if (rd.snapshot) this.storage.applySnapshot(rd.snapshot);
    this.storage.append(rd.entries);
    if (rd.hardState) this.storage.setHardState(rd.hardState);
  }

  /** Applies a Ready's committed entries (configuration changes included) and keeps its read states. */
  apply(rd: Ready): void {
    for (const e of rd.committedEntries) {
      if (e.type === "confChange") this.rn.applyConfChange(decodeConfChange(e.data));
      this.applied.push(e);
    }
    this.readStates.push(...rd.readStates);
  }

  tick(n = 1): void {
    for (let i = 0; i < n; i++) this.rn.tick();
  }

  /** Crashes and restarts from storage: everything not persisted is lost. */
  restart(): void {
    this.rn = new RawNode({ ...this.config, storage: this.storage });
    this.applied = [];
    this.readStates = [];
  }

  /** The terms of the log's entries from index 1 to the last (the node's view, unstable tail included). */
  logTerms(): number[] {
    const log = this.r.raftLog;
    const out: number[] = [];
    for (let i = 1; i <= log.lastIndex(); i++) out.push(log.term(i) ?? -1);
    return out;
  }

  /**
   * Makes this node leader on its own: campaigns and steps in granted (pre-)votes from the
   * other voters. The vote requests it sent are discarded; nothing is persisted.
   */
  electAlone(): void {
    this.rn.campaign();
    const others = this.r.trk.voterIds().filter((v) => v !== this.id);
    for (const v of others) {
      if (this.r.role !== "preCandidate") break;
      this.step({ type: "preVoteResponse", from: v, term: this.r.term + 1 });
    }
    for (const v of others) {
      if (this.r.role !== "candidate") break;
      this.step({ type: "voteResponse", from: v, term: this.r.term });
    }
    if (this.r.role !== "leader") throw new Error(`${this.id} did not become leader`);
    this.take();
  }
}

/** Messages of one type, optionally to one node. */
export function ofType(ms: readonly Message[], type: Message["type"], to?: NodeId): Message[] {
  return ms.filter((m) => m.type === type && (to === undefined || m.to === to));
}

/** A compact, comparable view of a message for assertions. */
export function brief(m: Message): string {
  const ents = m.entries.map((e) => `${e.index}@${e.term}`).join(",");
  return `${m.from}->${m.to} ${m.type} t${m.term} i${m.index} lt${m.logTerm} c${m.commit}${m.reject ? " reject" : ""}${ents ? ` [${ents}]` : ""}`;
}

/**
 * Voters a, b, c at term 1 with a RaftNode's defaults without leaseReads: pre-vote,
 * check-quorum, and a restarted node campaigns soon after its listening window.
 */
export const CAMPAIGN_SOON = {
  voters: ["a", "b", "c"],
  terms: [1],
  preVote: true,
  checkQuorum: true,
  campaignSoonAfterStart: true,
};

/** `a` elected alone (its peers' votes stepped in) with its log durable; messages are not drained. */
export function leaderAlone(spec: NodeSpec = CAMPAIGN_SOON): UnitNode {
  const n = new UnitNode("a", spec);
  n.electAlone();
  n.persist();
  return n;
}

/**
 * `a` leading `voters` at term 1: its empty entry (index 1) is durable, acknowledged by every
 * other voter (all in the replicate state) and committed. Messages are drained.
 */
export function steadyLeader(voters: NodeId[] = ["a", "b", "c"], spec: Partial<NodeSpec> = {}): UnitNode {
  const n = leaderAlone({ voters, ...spec });
  for (const v of voters) if (v !== "a") n.step({ type: "appendResponse", from: v, term: 1, index: 1 });
  n.persist();
  n.take();
  if (n.r.raftLog.committed !== 1) throw new Error("steadyLeader: the empty entry did not commit");
  return n;
}
