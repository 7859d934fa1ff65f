import { afterEach, describe, expect, it } from "vitest";
import { CompactedError, SnapshotOutOfDateError, UnavailableError } from "../errors.js";
import { entrySize } from "../raft/entries.js";
import type { WritableStorage } from "../raft/storage.js";
import type { ConfState, Entry, EntryType, Snapshot } from "../raft/types.js";
import { emptyConfState } from "../raft/types.js";

/** How {@link describeStorageConformance} gets storages to check. */
export interface StorageConformanceFactory {
  /** A new, empty storage. The suite closes it. */
  create(): WritableStorage | Promise<WritableStorage>;
  /**
   * Opens again the storage that `closed` was, after the suite closed it. When given, every
   * check is repeated on the reopened storage: it must hold exactly what was saved.
   */
  reopen?(closed: WritableStorage): WritableStorage | Promise<WritableStorage>;
}

/**
 * Declares vitest tests checking that a {@link WritableStorage} behaves as the interface says
 * (with MemoryStorage as the reference): reads, errors, `maxBytes`, tail overwrites, hard
 * state, snapshots that keep or drop the log, compaction, and, given `reopen`, durability.
 * Call it at the top level of a test file.
 */
export function describeStorageConformance(name: string, factory: StorageConformanceFactory): void {
  describe(`${name} conforms to WritableStorage`, () => {
    const open: WritableStorage[] = [];
    afterEach(async () => {
      for (const s of open.splice(0)) await Promise.resolve(s.close()).catch(() => {});
    });
    const create = async (): Promise<WritableStorage> => {
      const s = await factory.create();
      open.push(s);
      return s;
    };
    /** Runs `check`, then, if the storage can be reopened, runs it again on the reopened storage, which it returns. */
    const persisted = async (
      s: WritableStorage,
      check: (s: WritableStorage) => void,
    ): Promise<WritableStorage> => {
      check(s);
      if (!factory.reopen) return s;
      await s.close();
      const r = await factory.reopen(s);
      open.push(r);
      check(r);
      expect(view(r)).toEqual(view(s));
      return r;
    };

    it("starts empty", async () => {
      const s = await create();
      await persisted(s, (s) => {
        expect(s.firstIndex()).toBe(1);
        expect(s.lastIndex()).toBe(0);
        expect(s.term(0)).toBe(0);
        expect(s.entries(1, 1)).toEqual([]);
        expect(s.initialState()).toEqual({
          hardState: { term: 0, vote: null, commit: 0 },
          confState: emptyConfState(),
        });
        expect(s.snapshot().meta).toEqual({ index: 0, term: 0, confState: emptyConfState() });
        expect(() => s.term(1)).toThrow(UnavailableError);
        expect(() => s.entries(1, 2)).toThrow(UnavailableError);
        expect(() => s.entries(0, 1)).toThrow(CompactedError);
      });
    });

    it("reads back appended entries, their types, terms and bytes", async () => {
      const s = await create();
      const all = [
        ent(1, 1),
        ent(2, 1, "confChange"),
        ent(3, 2, "normal", 0),
        ent(4, 2, "normal", 10_000),
        ent(5, 3),
      ];
      await s.save({ entries: all.slice(0, 2) });
      await s.save({ entries: all.slice(2) });
      await persisted(s, (s) => {
        expect([s.firstIndex(), s.lastIndex()]).toEqual([1, 5]);
        expect(s.entries(1, 6)).toEqual(all);
        expect(s.entries(2, 4)).toEqual(all.slice(1, 3));
        expect(s.entries(3, 3)).toEqual([]);
        expect([0, 1, 2, 3, 4, 5].map((i) => s.term(i))).toEqual([0, 1, 1, 2, 2, 3]);
        expect(() => s.term(6)).toThrow(UnavailableError);
        expect(() => s.entries(1, 7)).toThrow(UnavailableError);
      });
    });

    it("returns at most maxBytes of entries, but always at least one", async () => {
      const s = await create();
      const all = [1, 2, 3, 4, 5].map((i) => ent(i, 1, "normal", 100));
      await s.save({ entries: all });
      const size = entrySize(all[0]!);
      await persisted(s, (s) => {
        expect(s.entries(1, 6, 0)).toEqual(all.slice(0, 1));
        expect(s.entries(1, 6, size - 1)).toEqual(all.slice(0, 1));
        expect(s.entries(1, 6, 2 * size)).toEqual(all.slice(0, 2));
        expect(s.entries(1, 6, 3 * size - 1)).toEqual(all.slice(0, 2));
        expect(s.entries(2, 6, 2 * size)).toEqual(all.slice(1, 3));
        expect(s.entries(1, 6, 5 * size)).toEqual(all);
        expect(s.entries(1, 6)).toEqual(all);
      });
    });

    it("replaces the entries at and after the first index of an overlapping batch", async () => {
      let s = await create();
      await s.save({ entries: [1, 2, 3, 4, 5].map((i) => ent(i, 1)) });
      await s.save({ entries: [ent(3, 2), ent(4, 2)] });
      s = await persisted(s, (s) => {
        expect(s.lastIndex()).toBe(4);
        expect(s.entries(1, 5)).toEqual([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2)]);
        expect(() => s.term(5)).toThrow(UnavailableError);
      });
      await s.save({ entries: [ent(2, 3)] });
      await s.save({ entries: [ent(3, 3), ent(4, 3)] });
      await persisted(s, (s) => {
        expect(s.entries(1, 5)).toEqual([ent(1, 1), ent(2, 3), ent(3, 3), ent(4, 3)]);
      });
    });

    it("refuses entries that would leave a gap, and changes nothing", async () => {
      const s = await create();
      await s.save({ entries: [ent(1, 1), ent(2, 1)] });
      await expect(s.save({ entries: [ent(4, 1)] })).rejects.toBeInstanceOf(UnavailableError);
      await persisted(s, (s) => {
        expect(s.lastIndex()).toBe(2);
        expect(s.entries(1, 3)).toEqual([ent(1, 1), ent(2, 1)]);
      });
    });

    it("stores the hard state, the last one saved winning", async () => {
      let s = await create();
      await s.save({ hardState: { term: 1, vote: "n1", commit: 0 }, entries: [ent(1, 1)] });
      await s.save({ hardState: { term: 3, vote: "n2", commit: 1 } });
      s = await persisted(s, (s) => {
        expect(s.initialState().hardState).toEqual({ term: 3, vote: "n2", commit: 1 });
      });
      await s.save({ hardState: { term: 4, vote: null, commit: 1 } });
      await persisted(s, (s) => {
        expect(s.initialState().hardState).toEqual({ term: 4, vote: null, commit: 1 });
        expect(s.lastIndex()).toBe(1);
      });
    });

    it("keeps the entries after a snapshot whose last entry the log holds with the same term", async () => {
      const s = await create();
      const all = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => ent(i, i <= 5 ? 1 : 2));
      await s.save({ entries: all });
      const snap = snapshot(
        5,
        1,
        { ...emptyConfState(), voters: ["a", "b", "c"], learners: ["d"] },
        "state@5",
      );
      await s.save({ snapshot: snap });
      await persisted(s, (s) => {
        expect(s.snapshot()).toEqual(snap);
        expect(s.initialState().confState).toEqual(snap.meta.confState);
        expect([s.firstIndex(), s.lastIndex()]).toEqual([1, 8]);
        expect(s.entries(1, 9)).toEqual(all);
      });
    });

    it("drops the whole log for a snapshot whose last entry the log holds with another term", async () => {
      let s = await create();
      await s.save({ entries: [1, 2, 3, 4, 5, 6, 7, 8].map((i) => ent(i, 1)) });
      const snap = snapshot(6, 2, { ...emptyConfState(), voters: ["a"] }, "state@6");
      await s.save({ snapshot: snap });
      s = await persisted(s, (s) => {
        expect([s.firstIndex(), s.lastIndex()]).toEqual([7, 6]);
        expect(s.term(6)).toBe(2);
        expect(s.entries(7, 7)).toEqual([]);
        expect(() => s.term(5)).toThrow(CompactedError);
        expect(() => s.entries(6, 7)).toThrow(CompactedError);
        expect(s.snapshot()).toEqual(snap);
      });
      await s.save({ entries: [ent(7, 2), ent(8, 2)] });
      await persisted(s, (s) => {
        expect(s.entries(7, 9)).toEqual([ent(7, 2), ent(8, 2)]);
      });
    });

    it("drops the whole log for a snapshot beyond its end", async () => {
      const s = await create();
      await s.save({ entries: [ent(1, 1), ent(2, 1)] });
      await s.save({ snapshot: snapshot(10, 3, { ...emptyConfState(), voters: ["a"] }, "state@10") });
      await persisted(s, (s) => {
        expect([s.firstIndex(), s.lastIndex()]).toEqual([11, 10]);
        expect(s.term(10)).toBe(3);
      });
    });

    it("refuses a snapshot older than the one it holds", async () => {
      const s = await create();
      await s.save({ entries: [1, 2, 3, 4, 5].map((i) => ent(i, 1)) });
      const snap = snapshot(4, 1, emptyConfState(), "state@4");
      await s.save({ snapshot: snap });
      await expect(s.save({ snapshot: snapshot(3, 1, emptyConfState(), "state@3") })).rejects.toBeInstanceOf(
        SnapshotOutOfDateError,
      );
      await persisted(s, (s) => {
        expect(s.snapshot()).toEqual(snap);
      });
    });

    it("applies a batch's snapshot, then its entries, then its hard state", async () => {
      const s = await create();
      await s.save({ entries: [ent(1, 1), ent(2, 1)], hardState: { term: 1, vote: "a", commit: 1 } });
      const snap = snapshot(10, 2, { ...emptyConfState(), voters: ["a", "b"] }, "state@10");
      await s.save({
        snapshot: snap,
        entries: [ent(9, 2), ent(10, 2), ent(11, 2), ent(12, 2)],
        hardState: { term: 2, vote: "b", commit: 12 },
      });
      await persisted(s, (s) => {
        expect([s.firstIndex(), s.lastIndex()]).toEqual([11, 12]);
        expect(s.entries(11, 13)).toEqual([ent(11, 2), ent(12, 2)]);
        expect(s.initialState()).toEqual({
          hardState: { term: 2, vote: "b", commit: 12 },
          confState: snap.meta.confState,
        });
      });
    });

    it("compacts up to the snapshot and never past it", async () => {
      let s = await create();
      const all = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => ent(i, i <= 4 ? 1 : 2));
      await s.save({ entries: all });
      await s.save({ snapshot: snapshot(6, 2, { ...emptyConfState(), voters: ["a"] }, "state@6") });
      await expect(call(() => s.compact(7))).rejects.toBeInstanceOf(UnavailableError);
      await s.compact(3);
      s = await persisted(s, (s) => {
        expect([s.firstIndex(), s.lastIndex()]).toEqual([4, 8]);
        expect(s.term(3)).toBe(1);
        expect(() => s.term(2)).toThrow(CompactedError);
        expect(() => s.entries(3, 5)).toThrow(CompactedError);
        expect(s.entries(4, 9)).toEqual(all.slice(3));
      });
      await s.compact(2);
      expect(s.firstIndex()).toBe(4);
      await s.compact(6);
      s = await persisted(s, (s) => {
        expect([s.firstIndex(), s.lastIndex()]).toEqual([7, 8]);
        expect(s.term(6)).toBe(2);
        expect(s.entries(7, 9)).toEqual(all.slice(6));
        expect(s.snapshot().meta.index).toBe(6);
      });
      // Entries at or below the compacted index are skipped; the rest replace the tail.
      await s.save({ entries: [ent(5, 2), ent(6, 2), ent(7, 3)] });
      await persisted(s, (s) => {
        expect([s.firstIndex(), s.lastIndex()]).toEqual([7, 7]);
        expect(s.entries(7, 8)).toEqual([ent(7, 3)]);
      });
    });

    it("takes the membership in initialState from the latest snapshot", async () => {
      const s = await create();
      await s.save({ entries: [1, 2, 3].map((i) => ent(i, 1)) });
      const joint: ConfState = {
        voters: ["a", "b", "d"],
        learners: ["e"],
        votersOutgoing: ["a", "b", "c"],
        learnersNext: ["c"],
        autoLeave: true,
      };
      await s.save({ snapshot: snapshot(2, 1, joint, "s2") });
      await persisted(s, (s) => {
        expect(s.initialState().confState).toEqual(joint);
      });
    });

    it.skipIf(!factory.reopen)(
      "holds exactly what was saved after a close and reopen, through a mixed history",
      async () => {
        let s = await create();
        let term = 1;
        let last = 0;
        for (let round = 0; round < 12; round++) {
          const n = 1 + (round % 5);
          const from =
            round % 4 === 3 ? Math.max(s.snapshot().meta.index + 1, s.firstIndex(), last - 2) : last + 1;
          if (from <= last) term++;
          const batch = Array.from({ length: n }, (_, k) =>
            ent(from + k, term, k % 3 === 0 ? "confChange" : "normal", round * 37),
          );
          last = from + n - 1;
          await s.save({
            entries: batch,
            hardState: { term, vote: `n${round % 3}`, commit: Math.max(0, last - 3) },
          });
          if (round % 5 === 4) {
            const at = last - 2;
            await s.save({
              snapshot: snapshot(
                at,
                s.term(at),
                { ...emptyConfState(), voters: [`v${round}`] },
                `state@${at}`,
              ),
            });
            await s.compact(at - 1);
          }
          if (round % 3 === 2) s = await persisted(s, () => {});
        }
        await s.save({ snapshot: snapshot(last + 5, term + 1, emptyConfState(), "far") });
        await persisted(s, (s) => {
          expect(s.lastIndex()).toBe(last + 5);
        });
      },
    );
  });
}

/** Everything a storage shows, for comparing two storages. */
function view(s: WritableStorage): unknown {
  const first = s.firstIndex();
  const last = s.lastIndex();
  return {
    first,
    last,
    termBefore: s.term(first - 1),
    entries: s.entries(first, last + 1),
    initialState: s.initialState(),
    snapshot: s.snapshot(),
  };
}

function ent(index: number, term: number, type: EntryType = "normal", size?: number): Entry {
  const data =
    size === undefined ? new TextEncoder().encode(`entry ${index} of term ${term}`) : new Uint8Array(size);
  if (size !== undefined) for (let i = 0; i < size; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return { index, term, type, data };
}

function snapshot(index: number, term: number, confState: ConfState, data: string): Snapshot {
  return { meta: { index, term, confState }, data: new TextEncoder().encode(data) };
}

/** Calls `f`, turning a synchronous throw into a rejection (compact may be either). */
async function call(f: () => unknown): Promise<unknown> {
  return await f();
}
