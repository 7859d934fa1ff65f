import { describe, expect, it } from "vitest";
import {
  CompactedError,
  type ConfState,
  emptyConfState,
  MemoryStorage,
  SnapshotOutOfDateError,
  UnavailableError,
} from "../../src/index.js";
import { entriesWithTerms, entry } from "../helpers/unit.js";

const CS: ConfState = { ...emptyConfState(), voters: ["a", "b", "c"] };

/** A storage whose log was compacted up to 3@3 and holds 4@4, 5@5 (etcd's storage tests). */
function compactedStorage(): MemoryStorage {
  const s = new MemoryStorage();
  s.append(entriesWithTerms([1, 2, 3, 4, 5]));
  s.createSnapshot(3, CS, new Uint8Array([3]));
  s.compact(3);
  return s;
}

const terms = (s: MemoryStorage) => s.entries(s.firstIndex(), s.lastIndex() + 1).map((e) => e.term);

describe("MemoryStorage", () => {
  it("starts empty: first index 1, last index 0, term(0) = 0", () => {
    const s = new MemoryStorage();
    expect([s.firstIndex(), s.lastIndex(), s.term(0)]).toEqual([1, 0, 0]);
    expect(s.entries(1, 1)).toEqual([]);
    expect(s.initialState()).toEqual({
      hardState: { term: 0, vote: null, commit: 0 },
      confState: emptyConfState(),
    });
  });

  const termCases: Array<[number, number | "compacted" | "unavailable"]> = [
    [2, "compacted"],
    [3, 3],
    [4, 4],
    [5, 5],
    [6, "unavailable"],
  ];
  for (const [i, want] of termCases) {
    it(`term(${i}) after compaction at 3 is ${want}`, () => {
      const s = compactedStorage();
      if (want === "compacted") expect(() => s.term(i)).toThrow(CompactedError);
      else if (want === "unavailable") expect(() => s.term(i)).toThrow(UnavailableError);
      else expect(s.term(i)).toBe(want);
    });
  }

  it("reports first and last index around the compaction point", () => {
    const s = compactedStorage();
    expect([s.firstIndex(), s.lastIndex()]).toEqual([4, 5]);
  });

  const entryCases: Array<[number, number, number, number[] | "compacted" | "unavailable"]> = [
    // lo, hi, maxBytes, want terms (every entry counts 24 bytes)
    [3, 5, Number.POSITIVE_INFINITY, "compacted"],
    [4, 7, Number.POSITIVE_INFINITY, "unavailable"],
    [4, 6, Number.POSITIVE_INFINITY, [4, 5]],
    [4, 6, 48, [4, 5]],
    [4, 6, 47, [4]],
    [4, 6, 0, [4]],
    [5, 6, Number.POSITIVE_INFINITY, [5]],
    [4, 4, Number.POSITIVE_INFINITY, []],
  ];
  for (const [lo, hi, max, want] of entryCases) {
    it(`entries(${lo}, ${hi}, ${max}) is ${JSON.stringify(want)}`, () => {
      const s = compactedStorage();
      if (want === "compacted") expect(() => s.entries(lo, hi, max)).toThrow(CompactedError);
      else if (want === "unavailable") expect(() => s.entries(lo, hi, max)).toThrow(UnavailableError);
      else expect(s.entries(lo, hi, max).map((e) => e.term)).toEqual(want);
    });
  }

  it("append overwrites a conflicting tail", () => {
    const s = compactedStorage();
    s.append([entry(5, 6), entry(6, 6)]);
    expect(terms(s)).toEqual([4, 6, 6]);
    s.append([entry(4, 7)]);
    expect(terms(s)).toEqual([7]);
    expect(s.lastIndex()).toBe(4);
  });

  it("append extends the log after its last entry", () => {
    const s = compactedStorage();
    s.append([entry(6, 5)]);
    expect(terms(s)).toEqual([4, 5, 5]);
  });

  it("append skips entries that are already compacted", () => {
    const s = compactedStorage();
    s.append(entriesWithTerms([3, 4, 6], 3));
    expect(s.firstIndex()).toBe(4);
    expect(terms(s)).toEqual([4, 6]);
    s.append(entriesWithTerms([1, 1], 1));
    expect(terms(s)).toEqual([4, 6]);
  });

  it("append refuses entries that would leave a gap", () => {
    const s = compactedStorage();
    expect(() => s.append([entry(7, 5)])).toThrow(UnavailableError);
    expect(terms(s)).toEqual([4, 5]);
  });

  it("createSnapshot records the term of its index and the given membership", () => {
    const s = new MemoryStorage();
    s.append(entriesWithTerms([1, 2, 3]));
    const snap = s.createSnapshot(2, CS, new Uint8Array([9]));
    expect(snap.meta).toEqual({ index: 2, term: 2, confState: CS });
    expect(s.snapshot()).toEqual(snap);
    // The log itself is untouched until compact().
    expect(s.firstIndex()).toBe(1);
  });

  it("createSnapshot refuses an index at or below the current snapshot, or past the log", () => {
    const s = compactedStorage();
    expect(() => s.createSnapshot(3, CS, new Uint8Array())).toThrow(SnapshotOutOfDateError);
    expect(() => s.createSnapshot(2, CS, new Uint8Array())).toThrow(SnapshotOutOfDateError);
    expect(() => s.createSnapshot(6, CS, new Uint8Array())).toThrow(UnavailableError);
    expect(s.createSnapshot(5, CS, new Uint8Array()).meta).toMatchObject({ index: 5, term: 5 });
  });

  it("compact discards entries up to the index, never past the snapshot", () => {
    const s = new MemoryStorage();
    s.append(entriesWithTerms([1, 2, 3, 4, 5]));
    s.createSnapshot(4, CS, new Uint8Array());
    expect(() => s.compact(5)).toThrow();
    s.compact(2);
    expect([s.firstIndex(), s.lastIndex(), s.term(2)]).toEqual([3, 5, 2]);
    s.compact(4);
    expect([s.firstIndex(), s.lastIndex(), s.term(4)]).toEqual([5, 5, 4]);
    expect(() => s.term(3)).toThrow(CompactedError);
    // Compacting an already compacted index changes nothing.
    s.compact(3);
    expect(s.firstIndex()).toBe(5);
  });

  it("applySnapshot replaces the whole log", () => {
    const s = compactedStorage();
    s.applySnapshot({ meta: { index: 10, term: 7, confState: CS }, data: new Uint8Array([1]) });
    expect([s.firstIndex(), s.lastIndex(), s.term(10)]).toEqual([11, 10, 7]);
    expect(s.initialState().confState).toEqual(CS);
    s.append([entry(11, 7)]);
    expect(terms(s)).toEqual([7]);
  });

  it("applySnapshot refuses a snapshot older than the current one", () => {
    const s = compactedStorage();
    expect(() =>
      s.applySnapshot({ meta: { index: 2, term: 2, confState: CS }, data: new Uint8Array() }),
    ).toThrow(SnapshotOutOfDateError);
    expect(s.snapshot().meta.index).toBe(3);
  });

  it("initialState returns copies of the hard state and the membership", () => {
    const s = compactedStorage();
    s.setHardState({ term: 5, vote: "b", commit: 4 });
    const st = s.initialState();
    expect(st).toEqual({ hardState: { term: 5, vote: "b", commit: 4 }, confState: CS });
    st.hardState.term = 99;
    st.confState.voters.push("z");
    expect(s.initialState()).toEqual({ hardState: { term: 5, vote: "b", commit: 4 }, confState: CS });
  });

  // Raft paper §7 (InstallSnapshot step 6): "If existing log entry has same index and term as
  // snapshot's last included entry, retain log entries following it".
  it("installSnapshot keeps the log when it holds the snapshot's last entry with the same term", () => {
    const s = new MemoryStorage();
    s.append(entriesWithTerms([1, 1, 2, 2, 2]));
    s.installSnapshot({ meta: { index: 3, term: 2, confState: CS }, data: new Uint8Array() });
    expect(s.snapshot().meta.index).toBe(3);
    expect([s.lastIndex(), s.term(4), s.term(5)]).toEqual([5, 2, 2]);
  });

  it("installSnapshot replaces the log when its last entry has another term or is missing", () => {
    const s = new MemoryStorage();
    s.append(entriesWithTerms([1, 1, 2, 2, 2]));
    s.installSnapshot({ meta: { index: 3, term: 3, confState: CS }, data: new Uint8Array() });
    expect([s.firstIndex(), s.lastIndex(), s.term(3)]).toEqual([4, 3, 3]);
    s.installSnapshot({ meta: { index: 9, term: 3, confState: CS }, data: new Uint8Array() });
    expect([s.firstIndex(), s.lastIndex(), s.term(9)]).toEqual([10, 9, 3]);
  });

  it("installSnapshot refuses a snapshot older than the current one", () => {
    const s = compactedStorage();
    s.append([entry(6, 5)]);
    s.createSnapshot(5, CS, new Uint8Array());
    expect(() =>
      s.installSnapshot({ meta: { index: 4, term: 4, confState: CS }, data: new Uint8Array() }),
    ).toThrow(SnapshotOutOfDateError);
  });

  it("saveSync writes the snapshot, then the entries after it, then the hard state", () => {
    const s = compactedStorage();
    s.saveSync({
      snapshot: { meta: { index: 10, term: 6, confState: CS }, data: new Uint8Array() },
      entries: [entry(11, 6), entry(12, 6)],
      hardState: { term: 6, vote: "a", commit: 12 },
    });
    expect([s.firstIndex(), s.lastIndex(), s.term(10)]).toEqual([11, 12, 6]);
    expect(terms(s)).toEqual([6, 6]);
    expect(s.initialState().hardState).toEqual({ term: 6, vote: "a", commit: 12 });
  });
});
