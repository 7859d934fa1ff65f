import { describe, expect, it } from "vitest";
import { emptyConfState, type Snapshot } from "../../src/index.js";
import { Unstable } from "../../src/raft/unstable.js";
import { entriesWithTerms } from "../helpers/unit.js";

function snap(index: number, term: number): Snapshot {
  return { meta: { index, term, confState: emptyConfState() }, data: new Uint8Array() };
}

/** An Unstable holding entries with `terms` from index `offset`, and optionally a snapshot just before. */
function unstable(offset: number, terms: number[], snapshot?: Snapshot, inProgress?: number): Unstable {
  const u = new Unstable(offset);
  u.entries = entriesWithTerms(terms, offset);
  if (snapshot) u.snapshot = snapshot;
  u.offsetInProgress = inProgress ?? offset;
  return u;
}

const ids = (u: Unstable) => u.entries.map((e) => `${e.index}@${e.term}`);

describe("Unstable: indexes and terms", () => {
  it("knows a first index only through a snapshot", () => {
    expect(unstable(5, [1]).maybeFirstIndex()).toBeNull();
    expect(unstable(5, [1], snap(4, 1)).maybeFirstIndex()).toBe(5);
    expect(unstable(5, [], snap(4, 1)).maybeFirstIndex()).toBe(5);
  });

  it("knows a last index from its entries, else from its snapshot", () => {
    expect(unstable(5, [1, 1]).maybeLastIndex()).toBe(6);
    expect(unstable(5, [1], snap(4, 1)).maybeLastIndex()).toBe(5);
    expect(unstable(5, [], snap(4, 1)).maybeLastIndex()).toBe(4);
    expect(unstable(5, []).maybeLastIndex()).toBeNull();
  });

  const terms: Array<[string, Unstable, number, number | null]> = [
    ["an entry it holds", unstable(5, [1, 2]), 6, 2],
    ["past its entries", unstable(5, [1]), 6, null],
    ["below its entries, without a snapshot", unstable(5, [1]), 4, null],
    ["the snapshot's index", unstable(5, [1], snap(4, 3)), 4, 3],
    ["below the snapshot", unstable(5, [1], snap(4, 3)), 3, null],
    ["the snapshot's index, with no entries", unstable(5, [], snap(4, 3)), 4, 3],
    ["nothing held", unstable(5, []), 5, null],
  ];
  for (const [what, u, i, want] of terms) {
    it(`gives the term of ${what}: ${want}`, () => {
      expect(u.maybeTerm(i)).toBe(want);
    });
  }
});

describe("Unstable: handing out and stabilizing", () => {
  it("hands out its entries once, then only what was appended since", () => {
    const u = unstable(5, [1, 1]);
    expect(u.nextEntries().map((e) => e.index)).toEqual([5, 6]);
    u.acceptInProgress();
    expect(u.nextEntries()).toEqual([]);
    u.truncateAndAppend(entriesWithTerms([1], 7));
    expect(u.nextEntries().map((e) => e.index)).toEqual([7]);
  });

  it("hands out its snapshot once", () => {
    const u = unstable(5, [], snap(4, 1));
    expect(u.nextSnapshot()?.meta.index).toBe(4);
    u.acceptInProgress();
    expect(u.nextSnapshot()).toBeNull();
    expect(u.snapshot).not.toBeNull();
  });

  const stables: Array<[string, Unstable, number, number, number, string[]]> = [
    // what, unstable, stableTo index, term, offset after, entries after
    ["nothing held", unstable(5, []), 5, 1, 5, []],
    ["its only entry", unstable(5, [1]), 5, 1, 6, []],
    ["a prefix", unstable(5, [1, 1]), 5, 1, 6, ["6@1"]],
    ["an entry replaced since by another term", unstable(6, [2]), 6, 1, 6, ["6@2"]],
    ["an index below its entries", unstable(5, [1]), 4, 1, 5, ["5@1"]],
    ["the snapshot's index", unstable(5, [1], snap(4, 1)), 4, 1, 5, ["5@1"]],
    ["an index past its entries", unstable(5, [1]), 6, 1, 5, ["5@1"]],
  ];
  for (const [what, u, index, term, offset, after] of stables) {
    it(`stableTo on ${what} leaves offset ${offset} and ${JSON.stringify(after)}`, () => {
      u.stableTo(index, term);
      expect(u.offset).toBe(offset);
      expect(ids(u)).toEqual(after);
      expect(u.offsetInProgress).toBeGreaterThanOrEqual(u.offset);
    });
  }

  it("stableSnapTo drops the snapshot only for its own index", () => {
    const u = unstable(5, [], snap(4, 1));
    u.acceptInProgress();
    u.stableSnapTo(3);
    expect(u.snapshot).not.toBeNull();
    u.stableSnapTo(4);
    expect(u.snapshot).toBeNull();
    expect(u.snapshotInProgress).toBe(false);
  });

  it("restore replaces everything with the snapshot", () => {
    const u = unstable(5, [1, 1], undefined, 7);
    u.restore(snap(9, 3));
    expect(u.offset).toBe(10);
    expect(u.offsetInProgress).toBe(10);
    expect(u.entries).toEqual([]);
    expect(u.snapshot?.meta.index).toBe(9);
    expect(u.nextSnapshot()).not.toBeNull();
  });
});

describe("Unstable.truncateAndAppend", () => {
  const cases: Array<[string, Unstable, number, number[], number, string[], number]> = [
    // what, before, first new index, new terms, offset after, entries after, offsetInProgress after
    ["appends after the end", unstable(5, [1], undefined, 6), 6, [1, 1], 5, ["5@1", "6@1", "7@1"], 6],
    ["replaces everything from the offset", unstable(5, [1], undefined, 6), 5, [2, 2], 5, ["5@2", "6@2"], 5],
    [
      "replaces everything and reaches below the offset",
      unstable(5, [1], undefined, 6),
      4,
      [2, 2, 2],
      4,
      ["4@2", "5@2", "6@2"],
      4,
    ],
    ["truncates in the middle", unstable(5, [1, 1, 1], undefined, 8), 6, [2], 5, ["5@1", "6@2"], 6],
    [
      "truncates the last entry",
      unstable(5, [1, 1, 1], undefined, 8),
      7,
      [2, 2],
      5,
      ["5@1", "6@1", "7@2", "8@2"],
      7,
    ],
    [
      "keeps in-progress marks below the truncation",
      unstable(5, [1, 1, 1], undefined, 6),
      7,
      [2],
      5,
      ["5@1", "6@1", "7@2"],
      6,
    ],
  ];
  for (const [what, u, from, terms, offset, after, inProgress] of cases) {
    it(what, () => {
      u.truncateAndAppend(entriesWithTerms(terms, from));
      expect(u.offset).toBe(offset);
      expect(ids(u)).toEqual(after);
      expect(u.offsetInProgress).toBe(inProgress);
    });
  }

  // The class invariant: entries[k].index === offset + k. etcd panics on such an append
  // (unstable.slice bounds check); it must never silently leave a hole in the log.
  it("refuses an append that would leave a gap after its entries", () => {
    const u = unstable(5, [1]);
    expect(() => u.truncateAndAppend(entriesWithTerms([1], 8))).toThrow();
    expect(ids(u)).toEqual(["5@1"]);
  });

  it("refuses an append that would leave a gap when it holds no entries", () => {
    const u = unstable(5, []);
    expect(() => u.truncateAndAppend(entriesWithTerms([1], 7))).toThrow();
    expect(u.entries).toEqual([]);
  });
});

describe("Unstable.slice", () => {
  it("returns the entries in [lo, hi)", () => {
    const u = unstable(5, [1, 2, 3]);
    expect(u.slice(6, 8).map((e) => e.term)).toEqual([2, 3]);
    expect(u.slice(5, 5)).toEqual([]);
  });

  for (const [lo, hi] of [
    [4, 6],
    [6, 9],
    [7, 6],
  ] as const) {
    it(`throws for [${lo}, ${hi}) outside [5, 8)`, () => {
      expect(() => unstable(5, [1, 2, 3]).slice(lo, hi)).toThrow();
    });
  }
});
