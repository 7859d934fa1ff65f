import { describe, expect, it } from "vitest";
import {
  CompactedError,
  type Entry,
  emptyConfState,
  MemoryStorage,
  type Snapshot,
  silentLogger,
  UnavailableError,
} from "../../src/index.js";
import { RaftLog } from "../../src/raft/raftLog.js";
import { entriesWithTerms } from "../helpers/unit.js";

function snap(index: number, term: number): Snapshot {
  return { meta: { index, term, confState: emptyConfState() }, data: new Uint8Array() };
}

/**
 * A RaftLog over a MemoryStorage whose snapshot is at `snapshotAt` (index, term) and which holds
 * entries with `stored` terms after it; `unstable` terms are then appended as the unstable tail.
 */
function newLog(
  stored: number[],
  unstable: number[] = [],
  opts: { snapshotAt?: [number, number]; maxApplyingSize?: number } = {},
): RaftLog {
  const storage = new MemoryStorage();
  const [si, st] = opts.snapshotAt ?? [0, 0];
  if (si > 0) storage.applySnapshot(snap(si, st));
  storage.append(entriesWithTerms(stored, si + 1));
  const log = new RaftLog(storage, "t", silentLogger, opts.maxApplyingSize ?? Number.POSITIVE_INFINITY);
  log.append(entriesWithTerms(unstable, si + 1 + stored.length));
  return log;
}

const terms = (es: Entry[]) => es.map((e) => e.term);
const indexes = (es: Entry[]) => es.map((e) => e.index);
const logTerms = (log: RaftLog) =>
  indexes(log.slice(log.firstIndex(), log.lastIndex() + 1)).map((i) => log.term(i));

describe("RaftLog: construction and bounds", () => {
  it("starts with commit and applied at the storage's compaction point", () => {
    const log = newLog([3, 3, 4], [], { snapshotAt: [5, 3] });
    expect([log.firstIndex(), log.lastIndex(), log.lastTerm()]).toEqual([6, 8, 4]);
    expect([log.committed, log.applying, log.applied]).toEqual([5, 5, 5]);
    expect(log.unstable.offset).toBe(9);
  });

  const termCases: Array<[number, number | null]> = [
    [4, null],
    [5, 3],
    [6, 3],
    [8, 4],
    [9, 5],
    [10, null],
  ];
  for (const [i, want] of termCases) {
    it(`term(${i}) over snapshot 5@3, stored [6..8] and unstable [9] is ${want}`, () => {
      const log = newLog([3, 3, 4], [5], { snapshotAt: [5, 3] });
      expect(log.term(i)).toBe(want);
    });
  }

  it("term() answers from an unstable snapshot before storage has it", () => {
    const log = newLog([1, 1]);
    log.restore(snap(10, 4));
    expect(log.term(10)).toBe(4);
    expect(log.term(9)).toBeNull();
    expect([log.firstIndex(), log.lastIndex(), log.committed]).toEqual([11, 10, 10]);
  });
});

describe("RaftLog: matching and conflicts (Raft paper §5.3)", () => {
  const conflicts: Array<[number, number[], number]> = [
    // first new index, new terms, conflict index (log is [1@1, 2@2, 3@3])
    [1, [], 0],
    [1, [1, 2, 3], 0],
    [2, [2, 3], 0],
    [3, [3], 0],
    [1, [1, 2, 3, 4, 4], 4],
    [2, [2, 3, 4, 4], 4],
    [3, [3, 4, 4], 4],
    [4, [4, 4], 4],
    [1, [4, 4], 1],
    [2, [1, 4, 4], 2],
    [3, [1, 2, 4, 4], 3],
  ];
  for (const [from, ts, want] of conflicts) {
    it(`findConflict of ${JSON.stringify(ts)} from ${from} against [1, 2, 3] is ${want}`, () => {
      expect(newLog([1, 2, 3]).findConflict(entriesWithTerms(ts, from))).toBe(want);
    });
  }

  const byTerm: Array<[string, RaftLog, number, number, [number, number]]> = [
    ["[1,2,2,5,5]", newLog([1, 2, 2, 5, 5]), 5, 6, [5, 5]],
    ["[1,2,2,5,5]", newLog([1, 2, 2, 5, 5]), 5, 5, [5, 5]],
    ["[1,2,2,5,5]", newLog([1, 2, 2, 5, 5]), 5, 4, [3, 2]],
    ["[1,2,2,5,5]", newLog([1, 2, 2, 5, 5]), 5, 1, [1, 1]],
    ["[1,2,2,5,5]", newLog([1, 2, 2, 5, 5]), 5, 0, [0, 0]],
    ["[1,2,2,5,5]", newLog([1, 2, 2, 5, 5]), 2, 9, [2, 2]],
    ["10@3 | [3,3,4,4,4]", newLog([3, 3, 4, 4, 4], [], { snapshotAt: [10, 3] }), 15, 9, [15, 4]],
    ["10@3 | [3,3,4,4,4]", newLog([3, 3, 4, 4, 4], [], { snapshotAt: [10, 3] }), 15, 3, [12, 3]],
    ["10@3 | [3,3,4,4,4]", newLog([3, 3, 4, 4, 4], [], { snapshotAt: [10, 3] }), 15, 2, [9, 0]],
    ["10@3 | [3,3,4,4,4]", newLog([3, 3, 4, 4, 4], [], { snapshotAt: [10, 3] }), 10, 5, [10, 3]],
    ["10@3 | [3,3,4,4,4]", newLog([3, 3, 4, 4, 4], [], { snapshotAt: [10, 3] }), 10, 2, [9, 0]],
    ["10@3 | [3,3,4,4,4]", newLog([3, 3, 4, 4, 4], [], { snapshotAt: [10, 3] }), 4, 2, [4, 0]],
    ["10@3 | [3,3,4,4,4]", newLog([3, 3, 4, 4, 4], [], { snapshotAt: [10, 3] }), 0, 0, [0, 0]],
    ["[1,1] + unstable [3,3]", newLog([1, 1], [3, 3]), 4, 2, [2, 1]],
  ];
  for (const [what, log, index, term, want] of byTerm) {
    it(`findConflictByTerm(${index}, ${term}) on ${what} is ${want[0]}@${want[1]}`, () => {
      const got = log.findConflictByTerm(index, term);
      expect([got.index, got.term]).toEqual(want);
    });
  }

  // Raft paper §5.4.1 (the log is [1@1, 2@2, 3@3]).
  const upToDate: Array<[number, number, boolean]> = [
    [2, 4, true],
    [3, 4, true],
    [4, 4, true],
    [2, 2, false],
    [3, 2, false],
    [4, 2, false],
    [2, 3, false],
    [3, 3, true],
    [4, 3, true],
  ];
  for (const [index, term, want] of upToDate) {
    it(`a log ending at ${index}@${term} is ${want ? "" : "not "}as up to date as [1, 2, 3]`, () => {
      expect(newLog([1, 2, 3]).isUpToDate(index, term)).toBe(want);
    });
  }
});

describe("RaftLog.maybeAppend", () => {
  const cases: Array<[string, number, number, number, number[], number | null, number, number[]]> = [
    // what, prev index, prev term, leader commit, new terms, last new, commit after, log after
    ["a term mismatch at prev", 3, 2, 3, [4], null, 1, [1, 2, 3]],
    ["prev beyond the log", 4, 4, 3, [4], null, 1, [1, 2, 3]],
    ["a heartbeat-like empty append", 3, 3, 3, [], 3, 3, [1, 2, 3]],
    ["a commit past the new entries", 3, 3, 4, [], 3, 3, [1, 2, 3]],
    ["a smaller leader commit", 3, 3, 2, [], 3, 2, [1, 2, 3]],
    ["a commit below ours", 3, 3, 0, [], 3, 1, [1, 2, 3]],
    ["a new entry after the end", 3, 3, 4, [4], 4, 4, [1, 2, 3, 4]],
    ["a conflicting last entry", 2, 2, 3, [4], 3, 3, [1, 2, 4]],
    ["a conflicting suffix", 1, 1, 3, [4, 4], 3, 3, [1, 4, 4]],
    ["entries already held", 0, 0, 3, [1], 1, 1, [1, 2, 3]],
  ];
  for (const [what, index, logTerm, commit, ts, lastNew, wantCommit, after] of cases) {
    it(`handles ${what}`, () => {
      const log = newLog([1, 2, 3]);
      log.commitTo(1);
      expect(log.maybeAppend(index, logTerm, commit, entriesWithTerms(ts, index + 1))).toBe(lastNew);
      expect(log.committed).toBe(wantCommit);
      expect(logTerms(log)).toEqual(after);
    });
  }

  it("refuses to overwrite a committed entry", () => {
    const log = newLog([1, 2, 3]);
    log.commitTo(2);
    expect(() => log.maybeAppend(1, 1, 3, entriesWithTerms([4], 2))).toThrow(/committed/);
    expect(logTerms(log)).toEqual([1, 2, 3]);
  });
});

describe("RaftLog: appending and committing", () => {
  it("append overwrites an uncommitted suffix and refuses to touch committed entries", () => {
    const log = newLog([1, 1], [2, 2]);
    log.commitTo(2);
    expect(log.append(entriesWithTerms([3], 4))).toBe(4);
    expect(logTerms(log)).toEqual([1, 1, 2, 3]);
    expect(log.append(entriesWithTerms([3, 3], 3))).toBe(4);
    expect(logTerms(log)).toEqual([1, 1, 3, 3]);
    expect(() => log.append(entriesWithTerms([4], 2))).toThrow();
  });

  it("commitTo never moves backwards and refuses an index past the log", () => {
    const log = newLog([1, 1, 1]);
    log.commitTo(2);
    log.commitTo(1);
    expect(log.committed).toBe(2);
    expect(() => log.commitTo(4)).toThrow();
    expect(log.committed).toBe(2);
  });

  // Raft paper §5.4.2: only an entry of the current term is committed by counting.
  it("maybeCommit advances only to an entry of the given term", () => {
    const log = newLog([1, 2, 2, 3]);
    expect(log.maybeCommit(3, 3)).toBe(false);
    expect(log.committed).toBe(0);
    expect(log.maybeCommit(3, 2)).toBe(true);
    expect(log.committed).toBe(3);
    expect(log.maybeCommit(2, 2)).toBe(false);
    expect(log.committed).toBe(3);
  });

  it("appliedTo must stay within [applied, committed]", () => {
    const log = newLog([1, 1, 1]);
    log.commitTo(2);
    expect(() => log.appliedTo(3)).toThrow();
    log.appliedTo(2);
    expect(log.applied).toBe(2);
    expect(() => log.appliedTo(1)).toThrow();
  });
});

describe("RaftLog: reading entries", () => {
  // Storage compacted at 100, holds 101..150; unstable holds 151..200. Every entry counts 24 bytes.
  const big = () => newLog(Array<number>(50).fill(1), Array<number>(50).fill(2), { snapshotAt: [100, 1] });
  const slices: Array<[number, number, number, number[]]> = [
    // lo, hi, maxBytes, expected [first, last] (or [] for none)
    [101, 101, Number.POSITIVE_INFINITY, []],
    [101, 151, Number.POSITIVE_INFINITY, [101, 150]],
    [149, 153, Number.POSITIVE_INFINITY, [149, 152]],
    [151, 201, Number.POSITIVE_INFINITY, [151, 200]],
    [149, 153, 48, [149, 150]],
    [149, 153, 72, [149, 151]],
    [149, 153, 30, [149, 149]],
    [151, 155, 50, [151, 152]],
    [149, 153, 0, [149, 149]],
  ];
  for (const [lo, hi, max, want] of slices) {
    it(`slice(${lo}, ${hi}, ${max}) across storage and unstable gives ${want.length ? want.join("..") : "nothing"}`, () => {
      const got = indexes(big().slice(lo, hi, max));
      expect(got.length === 0 ? [] : [got[0], got.at(-1)]).toEqual(want);
      // Indexes are contiguous.
      expect(got).toEqual(got.map((_, k) => lo + k));
    });
  }

  it("slice throws CompactedError below the first index and UnavailableError past the last", () => {
    const log = big();
    expect(() => log.slice(100, 102)).toThrow(CompactedError);
    expect(() => log.slice(199, 202)).toThrow(UnavailableError);
  });

  it("entries(i) is empty past the last index and throws below the first", () => {
    const log = big();
    expect(log.entries(201, 1000)).toEqual([]);
    expect(terms(log.entries(199, Number.POSITIVE_INFINITY))).toEqual([2, 2]);
    expect(() => log.entries(50, 1000)).toThrow(CompactedError);
  });
});

describe("RaftLog: committed entries for the application", () => {
  it("hands out committed entries after what is applying, unstable ones included", () => {
    const log = newLog([1, 1, 1], [1, 1, 1]);
    log.commitTo(5);
    log.appliedTo(3);
    expect(log.hasNextCommittedEntries()).toBe(true);
    expect(indexes(log.nextCommittedEntries())).toEqual([4, 5]);
    log.acceptApplying(5);
    expect(log.hasNextCommittedEntries()).toBe(false);
    expect(log.nextCommittedEntries()).toEqual([]);
    log.commitTo(6);
    expect(indexes(log.nextCommittedEntries())).toEqual([6]);
  });

  it("bounds one batch by maxApplyingSize, but always gives at least one entry", () => {
    const log = newLog([1, 1, 1, 1], [], { maxApplyingSize: 50 });
    log.commitTo(4);
    expect(indexes(log.nextCommittedEntries())).toEqual([1, 2]);
    log.acceptApplying(2);
    expect(indexes(log.nextCommittedEntries())).toEqual([3, 4]);
    const tiny = newLog([1, 1], [], { maxApplyingSize: 1 });
    tiny.commitTo(2);
    expect(indexes(tiny.nextCommittedEntries())).toEqual([1]);
  });

  it("hands out no entries while a snapshot is pending", () => {
    const log = newLog([1, 1]);
    log.commitTo(2);
    log.restore(snap(5, 2));
    expect(log.hasNextCommittedEntries()).toBe(false);
    expect(log.nextCommittedEntries()).toEqual([]);
  });
});
