import {
  type ConfChange,
  type ConfState,
  decodeConfChange,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type Snapshot,
} from "../../src/index.js";
import {
  applyConfModel,
  confKey,
  emptyConf,
  fmtConfChange,
  isVoterIn,
  ModelRefusal,
  membersOf,
  quorumHolds,
} from "./membership.js";

/** A broken Raft safety property; the message says which and where. */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvariantViolation";
  }
}

/** The part of a node's storage the checker reads (MemoryStorage has it). */
export interface LogView {
  firstIndex(): number;
  lastIndex(): number;
  term(i: number): number;
  entries(lo: number, hi: number): Entry[];
}

/** What every log holding entry (index, term) must agree on. */
interface LogFact {
  type: Entry["type"];
  data: Uint8Array;
  /** The term of the entry just before it. */
  prevTerm: number;
  /** Who first showed it, for the message. */
  where: string;
}

/** What the checker remembers of one node (across its restarts: it plays the oracle). */
interface NodeFacts {
  /** Entries up to here in the node's log were checked against the committed prefix. */
  verified: number;
  /** The node's commit index as last persisted. */
  commit: number;
  /** The index of the last entry the node applied (or its snapshot covered). */
  applied: number;
  /** The highest term and the vote in it the node ever persisted. */
  term: number;
  vote: string | null;
}

/** The configuration in force from a committed index on (the model's, see {@link applyConfModel}). */
export interface ConfPoint {
  /** The index of the configuration entry (0 for the empty configuration before any). */
  index: number;
  state: ConfState;
  key: string;
}

/** A configuration entry joined the committed prefix. */
export interface ConfCommit {
  index: number;
  cc: ConfChange;
  before: ConfState;
  after: ConfState;
  /** Why the model refuses the change (then `after` is `before`), or null. */
  refused: string | null;
}

/** Terms stay below this; (index, term) pairs are packed into one number. */
const TERM_SPAN = 1_000_000;

/**
 * Checks the Raft safety properties incrementally, as the simulation hands it each node's
 * persisted entries and hard state, its messages, snapshots, applied entries and role changes.
 * Every check is cheap (amortized constant per entry), so it can run after every step. A
 * broken property throws {@link InvariantViolation}.
 *
 * - Election safety: at most one leader per term, over the whole run.
 * - Log matching: an (index, term) pair identifies the entry's contents and the term before
 *   it, in every persisted log and every append message; hence whole prefixes match.
 * - Committed entries never change: a global committed prefix, extended by whatever any node
 *   reports committed and compared with it; nor does a node overwrite an entry it committed.
 * - Leader completeness: a new leader of term T holds every entry known committed in a term
 *   before T (known committed: some node reported it committed while at a term < T).
 * - State-machine safety: each node applies exactly the committed prefix, in order, never
 *   past its own commit index; installed snapshots lie on the committed prefix.
 * - A node never lowers its persisted term, and votes at most once per term (in its hard
 *   state and in the votes it grants).
 *
 * Membership (the configuration in force at each committed index is derived from the committed
 * configuration entries with the simulation's own model, {@link applyConfModel}):
 *
 * - Configuration agreement: every node that applies the configuration entry at an index
 *   computes the same ConfState there, and (unless `checkConfModel` is off) the model's.
 * - Membership views: a node's membership is the configuration at its applied index — after
 *   every step, on restart, and in every snapshot made or installed ({@link checkMembership}).
 * - Only voters lead: a new leader is a voter of its own (applied) configuration, and a node
 *   that knows its removal from the cluster is committed never leads. One that does not know
 *   it may lead for a while, as in etcd (etcd-io/etcd#7625): it campaigns with the votes of its
 *   applied configuration, which overlap with every quorum that decided since, commits only with
 *   a quorum of that configuration, and steps down once it applies its removal.
 * - Only voters commit: when a leader advances its commit index, a majority of each half of its
 *   configuration's voters hold the entry durably ({@link onLeaderCommit}); learners never count.
 */
export class InvariantChecker {
  readonly #log = new Map<number, LogFact>();
  /** The committed prefix, 1-based (slot 0 unused). */
  readonly #cTerm: number[] = [0];
  readonly #cType: Entry["type"][] = ["normal"];
  readonly #cData: Uint8Array[] = [new Uint8Array()];
  /** The term of the node that first reported the entry committed: the entry was committed in that term or earlier. */
  readonly #cCommitTerm: number[] = [0];
  readonly #leaders = new Map<number, string>();
  readonly #grants = new Map<string, string>();
  readonly #nodes = new Map<string, NodeFacts>();
  readonly #stateAt = new Map<number, string>();
  /** The configuration timeline: one point per committed configuration entry, in index order. */
  readonly #confs: ConfPoint[] = [{ index: 0, state: emptyConf(), key: confKey(emptyConf()) }];
  /** Per configuration entry index: the first node that applied it, and what it computed. */
  readonly #confApplied = new Map<number, { node: string; key: string }>();
  /** Nodes removed from the cluster: the index of the configuration entry that removed each. */
  readonly #removedAt = new Map<NodeId, number>();
  /** Called once for each entry that joins the committed prefix. */
  onCommitted: ((entry: Entry) => void) | undefined;
  /** Called once for each configuration entry that joins the committed prefix. */
  onConfCommitted: ((c: ConfCommit) => void) | undefined;
  readonly #checkVotes: boolean;
  readonly #checkConfModel: boolean;

  /**
   * @param options.checkVotes check that a node votes at most once per term (default true). Off,
   *   a node that forgets its vote is left for election safety to catch.
   * @param options.checkConfModel check each node's configuration against the model (default
   *   true). Off, nodes are only compared with each other (configuration agreement).
   */
  constructor(options: { checkVotes?: boolean; checkConfModel?: boolean } = {}) {
    this.#checkVotes = options.checkVotes ?? true;
    this.#checkConfModel = options.checkConfModel ?? true;
  }

  /** The configuration in force at committed index `index` (after the last configuration entry at or before it). */
  configAt(index: number): ConfPoint {
    const cs = this.#confs;
    let lo = 0;
    let hi = cs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (cs[mid]!.index <= index) lo = mid;
      else hi = mid - 1;
    }
    return cs[lo]!;
  }

  /** The newest committed configuration. */
  get latestConfig(): ConfPoint {
    return this.#confs[this.#confs.length - 1]!;
  }

  /** How many entries are known committed. */
  get committedLength(): number {
    return this.#cTerm.length - 1;
  }

  /** The leader of each term seen so far. */
  get leaders(): ReadonlyMap<number, string> {
    return this.#leaders;
  }

  /** The committed entry at `index` (1-based), if known. */
  committedEntry(index: number): Entry | undefined {
    if (index < 1 || index > this.committedLength) return undefined;
    return { index, term: this.#cTerm[index]!, type: this.#cType[index]!, data: this.#cData[index]! };
  }

  #node(id: string): NodeFacts {
    let f = this.#nodes.get(id);
    if (!f) {
      f = { verified: 0, commit: 0, applied: 0, term: 0, vote: null };
      this.#nodes.set(id, f);
    }
    return f;
  }

  /** Records or compares the facts of entry (index, term). */
  #logFact(e: Entry, prevTerm: number, where: string): void {
    if (e.term >= TERM_SPAN) throw new InvariantViolation(`term ${e.term} is implausibly large (${where})`);
    if (e.term < prevTerm) {
      throw new InvariantViolation(
        `log terms decrease: ${where} has ${e.index}@${e.term} after term ${prevTerm}`,
      );
    }
    const key = e.index * TERM_SPAN + e.term;
    const fact = this.#log.get(key);
    if (!fact) {
      this.#log.set(key, { type: e.type, data: e.data, prevTerm, where });
      return;
    }
    if (fact.prevTerm !== prevTerm) {
      throw new InvariantViolation(
        `log matching: entry ${e.index}@${e.term} follows term ${prevTerm} in ${where}, but term ${fact.prevTerm} in ${fact.where}`,
      );
    }
    if (fact.type !== e.type || !sameBytes(fact.data, e.data)) {
      throw new InvariantViolation(
        `log matching: entry ${e.index}@${e.term} differs between ${where} (${show(e.type, e.data)}) and ${fact.where} (${show(fact.type, fact.data)})`,
      );
    }
  }

  /** A node persisted `entries` (already appended to `log`). */
  onPersist(node: string, entries: readonly Entry[], log: LogView): void {
    if (entries.length === 0) return;
    const f = this.#node(node);
    const first = log.firstIndex();
    let prevTerm: number | undefined;
    let prevIndex = -1;
    for (const e of entries) {
      if (prevIndex >= 0 && e.index !== prevIndex + 1) {
        throw new InvariantViolation(
          `node ${node} was handed non-contiguous entries (${prevIndex} then ${e.index})`,
        );
      }
      prevIndex = e.index;
      if (e.index < first) continue; // already covered by the node's snapshot; storage skipped it
      if (prevTerm === undefined) prevTerm = e.index === 1 ? 0 : log.term(e.index - 1);
      this.#logFact(e, prevTerm, `node ${node}'s log`);
      prevTerm = e.term;
      if (e.index <= f.verified) {
        const c = this.committedEntry(e.index)!;
        if (c.term !== e.term || c.type !== e.type || !sameBytes(c.data, e.data)) {
          throw new InvariantViolation(
            `node ${node} overwrote committed entry ${e.index}@${c.term} with ${e.index}@${e.term}`,
          );
        }
      }
    }
  }

  /** A node sent `m`. Append entries must fit the log matching facts; granted votes must be unique per term. */
  onMessage(m: Message): void {
    if (m.type === "append" && m.entries.length > 0) {
      let prevTerm = m.logTerm;
      let index = m.index;
      for (const e of m.entries) {
        if (e.index !== index + 1) {
          throw new InvariantViolation(
            `append ${m.from}->${m.to} (term ${m.term}) after ${m.index}@${m.logTerm} carries entry ${e.index} where ${index + 1} belongs`,
          );
        }
        this.#logFact(e, prevTerm, `append ${m.from}->${m.to} in term ${m.term}`);
        prevTerm = e.term;
        index = e.index;
      }
    } else if (m.type === "voteResponse" && !m.reject && this.#checkVotes) {
      const k = `${m.from}/${m.term}`;
      const prev = this.#grants.get(k);
      if (prev !== undefined && prev !== m.to) {
        throw new InvariantViolation(
          `node ${m.from} granted its vote in term ${m.term} to both ${prev} and ${m.to}`,
        );
      }
      this.#grants.set(k, m.to);
    }
  }

  /** A node persisted hard state `hs` (after persisting its entries into `log`). */
  onHardState(node: string, hs: HardState, log: LogView): void {
    const f = this.#node(node);
    if (hs.term < f.term) {
      throw new InvariantViolation(`node ${node} lowered its term from ${f.term} to ${hs.term}`);
    }
    if (this.#checkVotes && hs.term === f.term && f.vote !== null && hs.vote !== f.vote) {
      throw new InvariantViolation(
        `node ${node} changed its vote in term ${hs.term} from ${f.vote} to ${hs.vote}`,
      );
    }
    if (hs.term > f.term || hs.vote !== null) {
      f.term = hs.term;
      f.vote = hs.vote;
    }
    if (hs.commit < f.commit) {
      throw new InvariantViolation(`node ${node} lowered its commit index from ${f.commit} to ${hs.commit}`);
    }
    f.commit = hs.commit;
    this.#verifyCommitted(node, f, hs.commit, hs.term, log);
  }

  /** Extends the committed prefix with, or compares it to, the node's log up to `commit`. */
  #verifyCommitted(node: string, f: NodeFacts, commit: number, term: number, log: LogView): void {
    if (commit <= f.verified) return;
    if (commit > log.lastIndex()) {
      throw new InvariantViolation(
        `node ${node} has commit index ${commit} beyond its last entry ${log.lastIndex()}`,
      );
    }
    let lo = f.verified + 1;
    const snap = log.firstIndex() - 1;
    if (lo <= snap) {
      // Covered by the node's snapshot, which was checked against the committed prefix when made or installed.
      this.#checkOnPrefix(node, snap, log.term(snap), "snapshot");
      lo = snap + 1;
    }
    const entries = lo <= commit ? log.entries(lo, commit + 1) : [];
    for (const e of entries) {
      const n = this.committedLength;
      if (e.index === n + 1) {
        this.#cTerm.push(e.term);
        this.#cType.push(e.type);
        this.#cData.push(e.data);
        this.#cCommitTerm.push(term);
        if (e.type === "confChange") this.#commitConf(e);
        this.onCommitted?.(e);
      } else if (e.index <= n) {
        if (
          this.#cTerm[e.index] !== e.term ||
          this.#cType[e.index] !== e.type ||
          !sameBytes(this.#cData[e.index]!, e.data)
        ) {
          throw new InvariantViolation(
            `committed entry ${e.index} changed: node ${node} committed ${e.index}@${e.term} (${show(e.type, e.data)}) ` +
              `but ${e.index}@${this.#cTerm[e.index]} (${show(this.#cType[e.index]!, this.#cData[e.index]!)}) was committed before`,
          );
        }
      } else {
        throw new InvariantViolation(
          `node ${node} committed entry ${e.index} past a gap (committed prefix ends at ${n})`,
        );
      }
    }
    f.verified = commit;
  }

  #checkOnPrefix(node: string, index: number, term: number, what: string): void {
    if (index === 0) return;
    if (index > this.committedLength) {
      throw new InvariantViolation(
        `node ${node}'s ${what} at ${index}@${term} lies beyond the committed prefix (${this.committedLength})`,
      );
    }
    if (this.#cTerm[index] !== term) {
      throw new InvariantViolation(
        `node ${node}'s ${what} at ${index}@${term} contradicts committed entry ${index}@${this.#cTerm[index]}`,
      );
    }
  }

  /**
   * A node became leader of `term`; its log (entries of this Ready included) is `log`, its
   * configuration (as of its applied index) `conf`, if the caller tracks it.
   */
  onLeader(node: string, term: number, log: LogView, conf?: ConfState): void {
    const prev = this.#leaders.get(term);
    if (prev !== undefined && prev !== node) {
      throw new InvariantViolation(`election safety: both ${prev} and ${node} became leader of term ${term}`);
    }
    this.#leaders.set(term, node);
    const removed = this.#removedAt.get(node);
    const knownCommit = this.#node(node).commit;
    if (removed !== undefined && removed <= knownCommit) {
      throw new InvariantViolation(
        `removed node leads: ${node} became leader of term ${term}, but it knew its removal (configuration entry ` +
          `${removed}, ${this.configAt(removed).key}) committed (its commit index is ${knownCommit})`,
      );
    }
    if (conf !== undefined && !isVoterIn(conf, node)) {
      throw new InvariantViolation(
        `non-voter leads: ${node} became leader of term ${term}, but it is not a voter of its configuration ${confKey(conf)}`,
      );
    }
    // The newest entry known committed in an earlier term; log matching covers the entries before it.
    let j = this.committedLength;
    while (j > 0 && this.#cCommitTerm[j]! >= term) j--;
    if (j === 0) return;
    const snap = log.firstIndex() - 1;
    if (j < snap) return; // compacted into the leader's snapshot, itself on the committed prefix
    if (j > log.lastIndex()) {
      throw new InvariantViolation(
        `leader completeness: ${node} became leader of term ${term} with last index ${log.lastIndex()}, ` +
          `missing committed entry ${j}@${this.#cTerm[j]}`,
      );
    }
    const t = log.term(j);
    if (t !== this.#cTerm[j]) {
      throw new InvariantViolation(
        `leader completeness: ${node} became leader of term ${term} holding ${j}@${t} instead of committed entry ${j}@${this.#cTerm[j]}`,
      );
    }
  }

  /** A node installed a snapshot handed to it in a Ready; `fingerprint` is its state-machine content. */
  onSnapshotInstalled(node: string, snap: Snapshot, fingerprint: string): void {
    const f = this.#node(node);
    const { index, term } = snap.meta;
    this.#checkOnPrefix(node, index, term, "installed snapshot");
    this.#checkSnapshotConf(node, index, snap.meta.confState, "installed snapshot");
    if (index <= f.applied) {
      throw new InvariantViolation(
        `node ${node} was handed snapshot ${index}@${term} but had applied ${f.applied} already`,
      );
    }
    this.#checkState(node, index, fingerprint, "installed snapshot");
    f.applied = index;
    f.verified = Math.max(f.verified, index);
    f.commit = Math.max(f.commit, index);
  }

  /** A node made a snapshot of its own state at `index` (recording membership `confState`, if given). */
  onSnapshotCreated(
    node: string,
    index: number,
    term: number,
    fingerprint: string,
    confState?: ConfState,
  ): void {
    this.#checkOnPrefix(node, index, term, "snapshot");
    this.#checkState(node, index, fingerprint, "snapshot");
    if (confState !== undefined) this.#checkSnapshotConf(node, index, confState, "snapshot");
  }

  #checkSnapshotConf(node: string, index: number, cs: ConfState, what: string): void {
    const p = this.configAt(index);
    const key = confKey(cs);
    if (key !== p.key) {
      throw new InvariantViolation(
        `membership: node ${node}'s ${what} at ${index} carries membership ${key}, but the configuration there is ${p.key} (from entry ${p.index})`,
      );
    }
  }

  // ---- membership ----

  /** A configuration entry joined the committed prefix: extend the timeline with the model's result. */
  #commitConf(e: Entry): void {
    let cc: ConfChange;
    try {
      cc = decodeConfChange(e.data);
    } catch {
      throw new InvariantViolation(`committed configuration entry ${e.index}@${e.term} does not decode`);
    }
    const before = this.latestConfig.state;
    let after = before;
    let refused: string | null = null;
    try {
      after = applyConfModel(before, cc);
    } catch (err) {
      if (!(err instanceof ModelRefusal)) throw err;
      refused = err.message;
    }
    this.#confs.push({ index: e.index, state: after, key: confKey(after) });
    const now = membersOf(after);
    for (const id of membersOf(before)) if (!now.has(id)) this.#removedAt.set(id, e.index);
    for (const id of now) this.#removedAt.delete(id);
    this.onConfCommitted?.({ index: e.index, cc, before, after, refused });
  }

  /**
   * A node applied the configuration entry at `index` and now has membership `cs`. All nodes
   * must compute the same there (configuration agreement), and the model's. A node bootstrapped
   * with all voters at once applies its bootstrap entries a second time: pass `bootstrapIndex`
   * (the last bootstrap entry), whose configuration it must hold throughout.
   */
  onConfApplied(node: string, index: number, cs: ConfState, bootstrapIndex?: number): void {
    const key = confKey(cs);
    const at = bootstrapIndex ?? index;
    const p = this.configAt(at);
    if (p.index !== at) {
      throw new InvariantViolation(`node ${node} applied configuration entry ${index}, unknown as committed`);
    }
    if (this.#checkConfModel && key !== p.key) {
      const e = this.committedEntry(index)!;
      throw new InvariantViolation(
        `configuration model: node ${node} applied ${fmtConfChange(decodeConfChange(e.data))} at ${index} ` +
          `and got ${key}, but the model gives ${p.key} (from ${confKey(this.configAt(index - 1).state)})`,
      );
    }
    if (bootstrapIndex !== undefined) return;
    const first = this.#confApplied.get(index);
    if (first === undefined) this.#confApplied.set(index, { node, key });
    else if (first.key !== key) {
      throw new InvariantViolation(
        `configuration agreement: at index ${index} node ${node} computed ${key}, but node ${first.node} computed ${first.key}`,
      );
    }
  }

  /**
   * A node's membership (`key`: its core's or the harness's view, `what` says which and when)
   * must be the configuration in force at the node's applied index.
   */
  checkMembership(node: string, key: string, applied: number, what: string): void {
    const p = this.configAt(applied);
    if (key !== p.key) {
      throw new InvariantViolation(
        `membership: node ${node} ${what} has membership ${key}, but the configuration at its applied index ${applied} is ${p.key} (from entry ${p.index})`,
      );
    }
  }

  /**
   * Leader `node` of `term` advanced its commit index to `commit` (its entry there has term
   * `entryTerm`) while its configuration was `conf`: a majority of each half of that
   * configuration's voters must hold the entry durably (`holds`). Learners never count.
   */
  onLeaderCommit(
    node: string,
    term: number,
    commit: number,
    entryTerm: number,
    conf: ConfState,
    holds: (id: NodeId) => boolean,
  ): void {
    if (quorumHolds(conf, holds)) return;
    const have = [...new Set([...conf.voters, ...conf.votersOutgoing])].filter(holds);
    const learners = [...conf.learners, ...conf.learnersNext].filter(holds);
    throw new InvariantViolation(
      `commit quorum: leader ${node} of term ${term} committed ${commit}@${entryTerm}, but only voters ` +
        `[${have.join(",")}]${learners.length > 0 ? ` (and learners [${learners.join(",")}])` : ""} hold it durably; ` +
        `no quorum of its configuration ${confKey(conf)}`,
    );
  }

  /** Whether the state after entry `index` is known already. */
  hasState(index: number): boolean {
    return this.#stateAt.has(index);
  }

  /** Remembers the state-machine state after entry `index` (the first node to get there sets it). */
  noteState(index: number, fingerprint: string): void {
    if (!this.#stateAt.has(index)) this.#stateAt.set(index, fingerprint);
  }

  #checkState(node: string, index: number, fingerprint: string, what: string): void {
    const known = this.#stateAt.get(index);
    if (known !== undefined && known !== fingerprint) {
      throw new InvariantViolation(
        `state-machine safety: node ${node}'s ${what} at ${index} holds ${fingerprint}, but the state there is ${known}`,
      );
    }
  }

  /** A node applied `e` to its state machine. */
  onApply(node: string, e: Entry): void {
    const f = this.#node(node);
    if (e.index !== f.applied + 1) {
      throw new InvariantViolation(`node ${node} applied entry ${e.index} after ${f.applied}`);
    }
    if (e.index > f.commit) {
      throw new InvariantViolation(
        `node ${node} applied entry ${e.index} beyond its commit index ${f.commit}`,
      );
    }
    const c = this.committedEntry(e.index);
    if (!c || c.term !== e.term || c.type !== e.type || !sameBytes(c.data, e.data)) {
      throw new InvariantViolation(
        `state-machine safety: node ${node} applied ${e.index}@${e.term} (${show(e.type, e.data)}), ` +
          (c
            ? `but the committed entry there is ${c.index}@${c.term} (${show(c.type, c.data)})`
            : "which is not known committed"),
      );
    }
    f.applied = e.index;
  }

  /** A node learned that reads are safe at `index`: it must not exceed what is committed. */
  onReadState(node: string, index: number): void {
    if (index > this.committedLength) {
      throw new InvariantViolation(
        `node ${node} got a read index ${index} beyond the committed prefix ${this.committedLength}`,
      );
    }
  }

  /**
   * A node restarted from `log` with hard state `hs`: its applied index is its snapshot's.
   * (If a broken disk lost entries, checking resumes below what it still holds.)
   */
  onRestart(node: string, hs: HardState, snapshotIndex: number): void {
    const f = this.#node(node);
    f.applied = snapshotIndex;
    f.commit = hs.commit;
    f.verified = Math.min(f.verified, hs.commit);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

const decoder = new TextDecoder();

function show(type: Entry["type"], data: Uint8Array): string {
  if (data.byteLength === 0) return type === "normal" ? "no-op" : `${type} (empty)`;
  const text = decoder.decode(data);
  return `${type === "normal" ? "" : `${type} `}${text.length > 80 ? `${text.slice(0, 80)}…` : text}`;
}
