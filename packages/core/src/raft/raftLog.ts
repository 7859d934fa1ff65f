import { CompactedError, CorruptLogError, UnavailableError } from "../errors.js";
import { limitSize } from "./entries.js";
import type { Logger } from "./logger.js";
import type { Storage } from "./storage.js";
import type { Entry, Snapshot } from "./types.js";
import { Unstable } from "./unstable.js";

/**
 * The Raft log as the core sees it: what storage holds, followed by the unstable tail.
 *
 * Invariant: applied <= applying <= committed <= lastIndex().
 */
export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** The highest index known to be stored on a quorum. */
  committed: number;
  /** The highest index handed to the application for applying. */
  applying: number;
  /** The highest index the application has applied. */
  applied: number;
  readonly maxApplyingSize: number;
  readonly #logger: Logger;
  readonly #id: string;

  constructor(storage: Storage, id: string, logger: Logger, maxApplyingSize: number) {
    this.storage = storage;
    this.#id = id;
    this.#logger = logger;
    this.maxApplyingSize = maxApplyingSize;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    // A snapshot only ever covers committed entries.
    this.committed = Math.max(first - 1, storage.snapshot().meta.index);
    this.applying = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    if (t === null) {
      throw new CorruptLogError(this.#id, this.lastIndex(), "the term of the last entry is unavailable");
    }
    return t;
  }

  /** The term of entry `i`, or null when `i` is compacted or beyond the log. The valid range is [firstIndex-1, lastIndex]. */
  term(i: number): number | null {
    const u = this.unstable.maybeTerm(i);
    if (u !== null) return u;
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return null;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return null;
      throw e;
    }
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /**
   * A follower's handling of an append: if the leader's previous entry (`index`, `logTerm`)
   * matches, appends the new entries (cutting off a conflicting suffix), advances commit,
   * and returns the index of the last new entry. Returns null on a mismatch.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number | null {
    if (!this.matchTerm(index, logTerm)) return null;
    const lastNew = index + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new CorruptLogError(
          this.#id,
          conflict,
          `entry ${conflict} conflicts with a committed entry (committed ${this.committed})`,
        );
      }
      this.append(ents.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /**
   * Throws {@link CorruptLogError} if the leader's entry before an append (`index`, `logTerm`)
   * or any of `ents` contradicts an entry this log holds as committed. Compacted entries are
   * not checked.
   */
  checkAgainstCommitted(index: number, logTerm: number, ents: readonly Entry[]): void {
    const claims = [{ index, term: logTerm }, ...ents];
    for (const { index: i, term } of claims) {
      if (i === 0 || i > this.committed) continue;
      const ours = this.term(i);
      if (ours !== null && ours !== term) {
        throw new CorruptLogError(
          this.#id,
          i,
          `the leader's entry ${i} has term ${term}, but committed entry ${i} here has term ${ours}`,
        );
      }
    }
  }

  /** Appends entries after the log's end or over an uncommitted suffix. Returns the new last index. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) {
      throw new CorruptLogError(
        this.#id,
        after + 1,
        `an append after ${after} would overwrite committed entries (committed ${this.committed})`,
      );
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry of `ents` that is new or whose term differs from ours;
   * 0 if every entry is already present.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) {
        if (e.index <= this.lastIndex()) {
          this.#logger.info(
            `node ${this.#id}: conflict at index ${e.index} (existing term ${this.term(e.index)}, leader's term ${e.term})`,
          );
        }
        return e.index;
      }
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term. Used for the
   * rejection hint: the leader can skip every entry whose term cannot match.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = index;
    for (; i > 0; i--) {
      const t = this.term(i);
      if (t === null) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
    return { index: 0, term: 0 };
  }

  /** Whether a log ending at (`lastIndex`, `term`) is at least as up to date as ours (Raft paper §5.4.1). */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  commitTo(c: number): void {
    if (c <= this.committed) return;
    if (c > this.lastIndex()) {
      throw new CorruptLogError(
        this.#id,
        c,
        `commit ${c} is past the last index ${this.lastIndex()}: the log was truncated or lost`,
      );
    }
    this.committed = c;
  }

  /** Advances commit to `maxIndex` if the entry there is of `term` (a leader commits only its own term's entries by counting, §5.4.2). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    if (i > this.committed || i < this.applied) {
      throw new Error(`node ${this.#id}: applied ${i} is out of range [${this.applied}, ${this.committed}]`);
    }
    this.applied = i;
    this.applying = Math.max(this.applying, i);
  }

  /** Entries not yet handed out for writing. */
  nextUnstableEntries(): Entry[] {
    return this.unstable.nextEntries();
  }

  nextUnstableSnapshot(): Snapshot | null {
    return this.unstable.nextSnapshot();
  }

  hasNextUnstableEntries(): boolean {
    return this.unstable.nextEntries().length > 0;
  }

  hasNextOrInProgressSnapshot(): boolean {
    return this.unstable.snapshot !== null;
  }

  /** The highest index that may be handed out for applying now. */
  #maxAppliableIndex(): number {
    return Math.min(this.committed, this.lastIndex());
  }

  hasNextCommittedEntries(): boolean {
    if (this.hasNextOrInProgressSnapshot()) return false;
    return this.applying < this.#maxAppliableIndex();
  }

  /** Committed entries not yet handed out for applying, bounded by maxApplyingSize. */
  nextCommittedEntries(): Entry[] {
    if (this.hasNextOrInProgressSnapshot()) return [];
    const lo = Math.max(this.applying, this.firstIndex() - 1) + 1;
    const hi = this.#maxAppliableIndex() + 1;
    if (lo >= hi) return [];
    return this.slice(lo, hi, this.maxApplyingSize);
  }

  /** Marks entries up to `index` as handed out for applying. */
  acceptApplying(index: number): void {
    this.applying = Math.max(this.applying, index);
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  acceptUnstable(): void {
    this.unstable.acceptInProgress();
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Entries from `i` to the end, at most `maxBytes`. Throws {@link CompactedError} if `i` was compacted. */
  entries(i: number, maxBytes: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxBytes);
  }

  /** Replaces the log with a snapshot (a follower catching up from its leader). */
  restore(s: Snapshot): void {
    this.#logger.info(
      `node ${this.#id}: log starts over from snapshot at index ${s.meta.index}, term ${s.meta.term}`,
    );
    this.committed = s.meta.index;
    this.unstable.restore(s);
  }

  /**
   * Entries in [lo, hi), at most `maxBytes` (but at least one). Reads storage for the part
   * below the unstable tail. Throws {@link CompactedError} when `lo` is compacted.
   */
  slice(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    const first = this.firstIndex();
    if (lo < first) throw new CompactedError(lo, first);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    if (lo === hi) return [];
    const uOff = this.unstable.offset;
    let ents: Entry[] = [];
    if (lo < uOff) {
      const stored = this.storage.entries(lo, Math.min(hi, uOff), maxBytes);
      // Storage gave fewer than asked: the byte limit was hit.
      if (stored.length < Math.min(hi, uOff) - lo) return stored;
      ents = stored;
    }
    if (hi > uOff) {
      const tail = this.unstable.slice(Math.max(lo, uOff), hi);
      ents = ents.length === 0 ? tail : ents.concat(tail);
    }
    return maxBytes === Number.POSITIVE_INFINITY ? ents : limitSize(ents, maxBytes);
  }
}
