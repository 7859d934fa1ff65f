import { createHash } from "node:crypto";
import fs from "node:fs";
import type { Entry, Snapshot } from "@raftkit/core";
import { describe, expect, it } from "vitest";
import { nodeVfs, openFileStorage, type Vfs } from "../src/index.js";
import { entries, recordingLogger, segmentFiles, tempDirs, testVfs } from "./helpers.js";

const newDir = tempDirs();

function snap(index: number, term: number): Snapshot {
  return {
    meta: {
      index,
      term,
      confState: { voters: ["a"], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
    },
    data: new TextEncoder().encode(`state at ${index}`),
  };
}

describe("segments", () => {
  it("roll over past the size limit, and entries read back across them from disk", async () => {
    const dir = newDir();
    let s = await openFileStorage(dir, { segmentBytes: 4096, cacheBytes: 0 });
    const all: Entry[] = [];
    for (let i = 0; i < 30; i++) {
      const batch = entries(1 + i * 10, 10, 1 + (i >> 3), 100);
      all.push(...batch);
      await s.save({ entries: batch });
    }
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const f of files.slice(0, -1)) expect(fs.statSync(f).size).toBeLessThanOrEqual(4096);
    expect(s.stats().segments).toBe(files.length);
    expect(s.entries(1, 301)).toEqual(all);
    expect(s.entries(95, 215)).toEqual(all.slice(94, 214));
    await s.close();
    s = await openFileStorage(dir, { segmentBytes: 4096, cacheBytes: 0 });
    expect(s.entries(1, 301)).toEqual(all);
    await s.close();
  });

  it("take a batch bigger than the limit whole, in a segment of its own", async () => {
    const dir = newDir();
    const s = await openFileStorage(dir, { segmentBytes: 2048 });
    await s.save({ entries: entries(1, 2, 1, 10) });
    await s.save({ entries: entries(3, 4, 1, 3000) });
    await s.save({ entries: entries(7, 1, 1, 10) });
    expect(segmentFiles(dir)).toHaveLength(3);
    expect(s.entries(1, 8)).toEqual([
      ...entries(1, 2, 1, 10),
      ...entries(3, 4, 1, 3000),
      ...entries(7, 1, 1, 10),
    ]);
    await s.close();
  });

  it("wholly below the compaction point are deleted with older snapshots; the rest reopen intact", async () => {
    const dir = newDir();
    let s = await openFileStorage(dir, { segmentBytes: 2048 });
    await s.save({ entries: entries(1, 60, 1, 100) });
    for (let i = 0; i < 6; i++) await s.save({ entries: entries(61 + i * 10, 10, 1, 100) });
    const before = segmentFiles(dir);
    await s.save({ snapshot: snap(40, 1) });
    await s.compact(40);
    await s.save({ snapshot: snap(100, 1) });
    await s.compact(100);
    const after = segmentFiles(dir);
    expect(after.length).toBeLessThan(before.length);
    expect(after[0]).not.toBe(before[0]);
    expect(s.stats().segments).toBe(after.length);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith(".snap"))).toEqual([
      `${"100".padStart(20, "0")}-${"1".padStart(20, "0")}.snap`,
    ]);
    await s.close();
    const logger = recordingLogger();
    s = await openFileStorage(dir, { logger, segmentBytes: 2048 });
    expect([s.firstIndex(), s.lastIndex()]).toEqual([101, 120]);
    expect(s.entries(101, 121)).toEqual(entries(101, 20, 1, 100));
    expect(s.snapshot()).toEqual(snap(100, 1));
    expect(logger.lines).toEqual([]);
    await s.close();
  });

  it("left after deletions replay a log whose tail a leader overwrote, as it was", async () => {
    const dir = newDir();
    const opts = { segmentBytes: 1024, cacheBytes: 0 };
    let s = await openFileStorage(dir, opts);
    for (let i = 0; i < 10; i++) await s.save({ entries: entries(1 + i * 5, 5, 1, 60) });
    // A new leader replaces everything after 30, then the log is snapshotted and compacted at 35.
    await s.save({ entries: entries(31, 12, 2, 60), hardState: { term: 2, vote: "b", commit: 35 } });
    await s.save({ snapshot: snap(35, 2) });
    await s.compact(35);
    await s.save({ entries: entries(43, 3, 2, 60) });
    const expected = entries(36, 10, 2, 60);
    expect(s.entries(36, 46)).toEqual(expected);
    await s.close();
    s = await openFileStorage(dir, opts);
    expect([s.firstIndex(), s.lastIndex(), s.term(35)]).toEqual([36, 45, 2]);
    expect(s.entries(36, 46)).toEqual(expected);
    expect(s.initialState().hardState).toEqual({ term: 2, vote: "b", commit: 35 });
    await s.close();
  });
});

describe("preallocated segments", () => {
  it("replace the first segment as soon as one is ready, and fill up in place", async () => {
    const dir = newDir();
    const segmentBytes = 64 * 1024;
    let s = await openFileStorage(dir, { segmentBytes });
    const all: Entry[] = [];
    const preallocated = () => segmentFiles(dir).find((f) => fs.statSync(f).size === segmentBytes);
    for (let i = 1; i <= 2000 && !preallocated(); i++) {
      all.push(...entries(i, 1, 1, 1000));
      await s.save({ entries: all.slice(-1) });
    }
    // The new segment was written full of zeros beforehand; batches now overwrite them.
    const second = preallocated();
    expect(second).toBeDefined();
    const [first] = segmentFiles(dir);
    expect(first).not.toBe(second);
    expect(fs.statSync(first!).size).toBeLessThan(segmentBytes);
    for (let k = 0; k < 10; k++) {
      all.push(...entries(all.length + 1, 1, 1, 1000));
      await s.save({ entries: all.slice(-1) });
    }
    expect(fs.statSync(second!).size).toBe(segmentBytes);
    await s.close();
    expect(fs.readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    const logger = recordingLogger();
    s = await openFileStorage(dir, { segmentBytes, logger });
    expect(s.entries(1, all.length + 1)).toEqual(all);
    expect(logger.lines).toEqual([]);
    await s.save({ entries: entries(all.length + 1, 3, 2, 1000) });
    await s.close();
    s = await openFileStorage(dir, { segmentBytes, logger });
    expect(s.entries(all.length - 1, all.length + 4)).toEqual([
      ...all.slice(-2),
      ...entries(all.length + 1, 3, 2, 1000),
    ]);
    expect(logger.lines).toEqual([]);
    await s.close();
  });
});

describe("the tail cache", () => {
  it("evicts the oldest entries past its budget, and evicted entries still read from disk", async () => {
    const dir = newDir();
    const s = await openFileStorage(dir, { cacheBytes: 1000 });
    const all = entries(1, 100, 1, 100);
    for (let i = 0; i < 10; i++) await s.save({ entries: all.slice(i * 10, i * 10 + 10) });
    const st = s.stats();
    expect(st.cacheBytes).toBeLessThanOrEqual(1000);
    expect(st.cacheEntries).toBe(Math.floor(1000 / 124));
    expect(s.entries(1, 101)).toEqual(all);
    expect(s.entries(90, 95)).toEqual(all.slice(89, 94));
    expect(s.entries(1, 101, 1000)).toEqual(all.slice(0, 8));
    await s.save({ entries: entries(99, 3, 2, 100) });
    expect(s.entries(97, 102)).toEqual([...all.slice(96, 98), ...entries(99, 3, 2, 100)]);
    await s.close();
  });

  it("stays within its budget while a log far bigger than it is written and read", async () => {
    const dir = newDir();
    const cacheBytes = 256 * 1024;
    const s = await openFileStorage(dir, { cacheBytes, sync: false, segmentBytes: 4 * 1024 * 1024 });
    const written = createHash("sha256");
    for (let i = 0; i < 100; i++) {
      const batch = entries(1 + i * 64, 64, 1, 4096);
      for (const e of batch) written.update(e.data);
      await s.save({ entries: batch });
      expect(s.stats().cacheBytes).toBeLessThanOrEqual(cacheBytes);
    }
    const read = createHash("sha256");
    let next = 1;
    while (next <= s.lastIndex()) {
      const got = s.entries(next, s.lastIndex() + 1, 512 * 1024);
      expect(got[0]!.index).toBe(next);
      for (const e of got) read.update(e.data);
      next += got.length;
      expect(s.stats().cacheBytes).toBeLessThanOrEqual(cacheBytes);
    }
    expect(read.digest("hex")).toBe(written.digest("hex"));
    expect(s.stats().cacheEntries).toBe(Math.floor(cacheBytes / (4096 + 24)));
    await s.close();
  });
});

describe("saves", () => {
  it("made concurrently share fsyncs (group commit) and land in call order", async () => {
    const dir = newDir();
    const vfs = testVfs();
    const s = await openFileStorage(dir, { vfs });
    const base = vfs.datasyncs;
    await Promise.all(entries(1, 64, 1).map((e) => s.save({ entries: [e] })));
    expect(vfs.datasyncs - base).toBeLessThanOrEqual(2);
    let next = 65;
    const caller = async () => {
      for (let k = 0; k < 10; k++) await s.save({ entries: entries(next++, 1, 1) });
    };
    const before = vfs.datasyncs;
    await Promise.all(Array.from({ length: 16 }, caller));
    expect(vfs.datasyncs - before).toBeLessThan(160 / 4);
    expect(s.entries(1, 225)).toEqual(entries(1, 224, 1));
    await s.close();
  });

  it("that are empty resolve once what was queued before them is durable", async () => {
    const s = await openFileStorage(newDir());
    const first = s.save({ entries: entries(1, 1, 1) });
    await s.save({});
    expect(s.lastIndex()).toBe(1);
    await first;
    await s.close();
  });

  it("refuse entries whose indexes do not follow each other, writing nothing", async () => {
    const s = await openFileStorage(newDir());
    await expect(s.save({ entries: [...entries(1, 2, 1), ...entries(4, 1, 1)] })).rejects.toThrow(RangeError);
    expect(s.lastIndex()).toBe(0);
    await s.save({ entries: entries(1, 1, 1) });
    expect(s.lastIndex()).toBe(1);
    await s.close();
  });
});

describe("prepareSnapshot", () => {
  it("writes a snapshot's file while entries go on being saved and synced; the save then only records it", async () => {
    const dir = newDir();
    let release = (): void => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let snapshotFiles = 0;
    const vfs: Vfs = {
      ...nodeVfs,
      async open(p, flags) {
        const f = await nodeVfs.open(p, flags);
        if (!p.endsWith(".snap.tmp")) return f;
        snapshotFiles++;
        return {
          write: (data, position) => f.write(data, position),
          async datasync() {
            await gate;
            await f.datasync();
          },
          close: () => f.close(),
        };
      },
    };
    const s = await openFileStorage(dir, { vfs });
    await s.save({ entries: entries(1, 10, 1) });
    const snapshot = snap(5, 1);
    const prepared = s.prepareSnapshot(snapshot);
    // The snapshot's file waits for its fsync; entries saved meanwhile do not.
    await s.save({ entries: entries(11, 5, 1) });
    expect(s.lastIndex()).toBe(15);
    expect(s.snapshot().meta.index).toBe(0);
    release();
    await prepared;
    await s.save({ snapshot });
    expect(snapshotFiles).toBe(1);
    expect(s.snapshot()).toEqual(snapshot);
    await s.close();
    const r = await openFileStorage(dir);
    expect(r.snapshot()).toEqual(snapshot);
    expect(r.lastIndex()).toBe(15);
    await r.close();
  });
});
