import { sessionCreatedAt } from "./sessionId.js";

/** The outcome of a command as remembered for deduplication: a value, or the reducer's error. */
export type StoredResult =
  | { ok: true; value: unknown }
  | { ok: false; name: string; message: string; code?: StoredErrorCode };

/** Errors raftkit itself gives a command, as opposed to errors its reducer threw. */
export type StoredErrorCode =
  | "NOT_SERIALIZABLE"
  | "NONDETERMINISM"
  | "SESSION_EXPIRED"
  | "UPGRADE_REFUSED"
  | "MIGRATION_FAILED";

/** What the replicated state remembers of one caller (Raft thesis §6.3). */
export interface SessionRecord {
  /** Results below this sequence number were acknowledged by the caller and forgotten. */
  lowest: number;
  results: Map<number, StoredResult>;
  /** Log time of the session's last command (or its stamped creation time, if later), for expiry. */
  lastSeen: number;
}

export type Dedup =
  | { kind: "new"; record: SessionRecord }
  | { kind: "duplicate"; result: StoredResult }
  | { kind: "forgotten" }
  | { kind: "expired" };

/** What a snapshot keeps of a {@link SessionTable}. */
export interface SessionTableSnapshot {
  sessions: [string, SessionRecord][];
  /** Log time of the next sweep; absent in snapshots written before it was kept (then 0). */
  nextSweep?: number;
}

/**
 * The table of caller sessions (Raft thesis §6.3). Every command carries (session, seq,
 * lowest unacknowledged seq); a command seen before answers with its first result instead of
 * running again. Sessions idle for longer than the TTL, in log time, are dropped by a sweep
 * every TTL/4 of log time. Everything here is a function of the log (and of a snapshot, which
 * keeps the sweep schedule too), so every node, whatever its apply batches or restarts, holds
 * the same table.
 *
 * An expired session is recognised exactly, from the log alone. A command whose session is
 * not in the table is refused as expired (never run) when
 * - its id is stamped with a creation time ({@link newSessionId}) more than the TTL before the
 *   command's log time. A session enters the table with `lastSeen` no earlier than its stamp,
 *   so one that was swept at log time T had `T - stamp > TTL`: any later command of it is
 *   refused, whatever the clocks of the caller and the leader. A new session whose first
 *   command took longer than the TTL to commit is refused too; the caller starts another. The
 *   stamp is the caller's clock and log time the proposers': keep the TTL far above their
 *   spread (the default is 24 h);
 * - its id is not stamped (a custom session given over HTTP) and its `lowest` is above 1: the
 *   caller was answered for command 1, so the session was in the table and has since been
 *   swept. A retry of such a session's command 1 after expiry runs again, and a caller that
 *   gave up on its first commands before any was applied is told its session expired.
 * A stamped session is never judged by `lowest`: a caller may give up on its first commands
 * before any of them is applied, and its next command (with `lowest` above 1) still opens the
 * session.
 *
 * Invariant: every stored seq >= its session's `lowest`.
 */
export class SessionTable {
  readonly sessions = new Map<string, SessionRecord>();
  readonly #ttlMs: number;
  #nextSweep = 0;

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  /** Classifies a command before it runs, and forgets what the caller acknowledged. */
  check(session: string, seq: number, lowest: number, time: number): Dedup {
    this.#sweep(time);
    let rec = this.sessions.get(session);
    if (!rec) {
      const created = sessionCreatedAt(session);
      const expired = created !== undefined ? time - created > this.#ttlMs : lowest > 1;
      if (expired) return { kind: "expired" };
      rec = { lowest: 0, results: new Map(), lastSeen: Math.max(time, created ?? time) };
      this.sessions.set(session, rec);
    }
    rec.lastSeen = Math.max(rec.lastSeen, time);
    if (lowest > rec.lowest) {
      for (const s of rec.results.keys()) if (s < lowest) rec.results.delete(s);
      rec.lowest = lowest;
    }
    const prior = rec.results.get(seq);
    if (prior) return { kind: "duplicate", result: prior };
    if (seq < rec.lowest) return { kind: "forgotten" };
    return { kind: "new", record: rec };
  }

  /**
   * Stores the result of a command that {@link check} found new, with the record it returned.
   * Results may be recorded after later commands were checked (a batch runs its reducers
   * together): a result that those commands' acknowledgements or a sweep would have dropped
   * is not stored, exactly as if it had been recorded at once.
   */
  record(session: string, record: SessionRecord, seq: number, result: StoredResult): void {
    if (this.sessions.get(session) === record && seq >= record.lowest) record.results.set(seq, result);
  }

  #sweep(time: number): void {
    if (time < this.#nextSweep) return;
    this.#nextSweep = time + Math.max(1, Math.floor(this.#ttlMs / 4));
    for (const [id, rec] of this.sessions) if (time - rec.lastSeen > this.#ttlMs) this.sessions.delete(id);
  }

  /** A copy of the table, for a snapshot: later commands change the live records in place. */
  toJSON(): SessionTableSnapshot {
    const sessions: [string, SessionRecord][] = [];
    for (const [id, r] of this.sessions) sessions.push([id, { ...r, results: new Map(r.results) }]);
    return { sessions, nextSweep: this.#nextSweep };
  }

  load(s: SessionTableSnapshot): void {
    this.sessions.clear();
    for (const [id, rec] of s.sessions) this.sessions.set(id, rec);
    this.#nextSweep = s.nextSweep ?? 0;
  }
}
