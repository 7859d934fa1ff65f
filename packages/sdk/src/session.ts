/** The outcome of a command as remembered for deduplication: a value, or the reducer's error. */
export type StoredResult =
  | { ok: true; value: unknown }
  | { ok: false; name: string; message: string; code?: StoredErrorCode };

/** Errors raftkit itself gives a command, as opposed to errors its reducer threw. */
export type StoredErrorCode = "NOT_SERIALIZABLE" | "SESSION_EXPIRED";

/** What the replicated state remembers of one caller (Raft thesis §6.3). */
export interface SessionRecord {
  /** Results below this sequence number were acknowledged by the caller and forgotten. */
  lowest: number;
  results: Map<number, StoredResult>;
  /** Leader time of the session's last command, for expiry. */
  lastSeen: number;
}

export type Dedup = { kind: "new" } | { kind: "duplicate"; result: StoredResult } | { kind: "forgotten" };

/**
 * The table of caller sessions. Every command carries (session, seq, lowest unacknowledged
 * seq); a command seen before answers with its first result instead of running again.
 * Sessions idle for longer than the TTL (in log time) are dropped on every node alike.
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
      rec = { lowest: 0, results: new Map(), lastSeen: time };
      this.sessions.set(session, rec);
    }
    rec.lastSeen = time;
    if (lowest > rec.lowest) {
      for (const s of rec.results.keys()) if (s < lowest) rec.results.delete(s);
      rec.lowest = lowest;
    }
    const prior = rec.results.get(seq);
    if (prior) return { kind: "duplicate", result: prior };
    if (seq < rec.lowest) return { kind: "forgotten" };
    return { kind: "new" };
  }

  record(session: string, seq: number, result: StoredResult): void {
    this.sessions.get(session)?.results.set(seq, result);
  }

  #sweep(time: number): void {
    if (time < this.#nextSweep) return;
    this.#nextSweep = time + Math.max(1, Math.floor(this.#ttlMs / 4));
    for (const [id, rec] of this.sessions) if (time - rec.lastSeen > this.#ttlMs) this.sessions.delete(id);
  }

  toJSON(): [string, SessionRecord][] {
    return [...this.sessions];
  }

  load(entries: [string, SessionRecord][]): void {
    this.sessions.clear();
    for (const [id, rec] of entries) this.sessions.set(id, rec);
    this.#nextSweep = 0;
  }
}
