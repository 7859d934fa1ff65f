import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { openFileStorage, StorageClosedError, StorageFailedError } from "../src/index.js";
import { entries, recordingLogger, tempDirs, testVfs } from "./helpers.js";

const newDir = tempDirs();

describe("durability", () => {
  it("a save resolves, and its entries show, only after its fdatasync has returned", async () => {
    const vfs = testVfs();
    const s = await openFileStorage(newDir(), { vfs });
    let release = (): void => {};
    vfs.datasyncGate = new Promise((resolve) => {
      release = resolve;
    });
    const synced = vfs.datasyncs;
    let done = false;
    const saved = s.save({ entries: entries(1, 2, 1) }).then(() => {
      done = true;
    });
    while (vfs.datasyncs === synced) await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false);
    expect(s.lastIndex()).toBe(0);
    release();
    await saved;
    expect(s.entries(1, 3)).toEqual(entries(1, 2, 1));
    await s.close();
  });
});

describe("write faults", () => {
  it("a failed fsync fails its save and every later write; reads go on; a reopen recovers", async () => {
    const dir = newDir();
    const vfs = testVfs();
    const s = await openFileStorage(dir, { vfs });
    await s.save({ entries: entries(1, 3, 1), hardState: { term: 1, vote: "a", commit: 2 } });
    vfs.failNextDatasync = true;
    const failed = await s.save({ entries: entries(4, 2, 1) }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(StorageFailedError);
    expect((failed as StorageFailedError).code).toBe("STORAGE_FAILED");
    expect((failed as StorageFailedError).message).toMatch(/EIO.*restart the node/);
    await expect(s.save({ hardState: { term: 2, vote: null, commit: 2 } })).rejects.toBeInstanceOf(
      StorageFailedError,
    );
    await expect(s.compact(1)).rejects.toBeInstanceOf(StorageFailedError);
    expect(s.lastIndex()).toBe(3);
    expect(s.entries(1, 4)).toEqual(entries(1, 3, 1));
    await s.close();
    const r = await openFileStorage(dir);
    // The failed batch may or may not have reached the disk; nothing else may differ.
    expect([3, 5]).toContain(r.lastIndex());
    expect(r.entries(1, r.lastIndex() + 1)).toEqual(entries(1, r.lastIndex(), 1));
    expect(r.initialState().hardState).toEqual({ term: 1, vote: "a", commit: 2 });
    await r.close();
  });

  it("a write torn by a crash is cut off when the directory is opened again", async () => {
    const dir = newDir();
    const vfs = testVfs();
    const s = await openFileStorage(dir, { vfs });
    await s.save({ entries: entries(1, 2, 1) });
    vfs.tearNextWrite = true;
    await expect(s.save({ entries: entries(3, 4, 1, 500) })).rejects.toBeInstanceOf(StorageFailedError);
    await s.close();
    const logger = recordingLogger();
    const r = await openFileStorage(dir, { logger });
    expect(r.entries(1, r.lastIndex() + 1)).toEqual(entries(1, 2, 1));
    expect(logger.lines).toContainEqual(
      expect.stringMatching(/warn .*: cut \d+ bytes at offset \d+ \(a frame that runs past the end/),
    );
    await r.close();
  });

  it("a snapshot whose file could not be written is neither used nor recorded", async () => {
    const dir = newDir();
    const vfs = testVfs();
    const s = await openFileStorage(dir, { vfs });
    await s.save({ entries: entries(1, 4, 1) });
    vfs.failRenameTo = /\.snap$/;
    const snapshot = {
      meta: {
        index: 3,
        term: 1,
        confState: { voters: ["a"], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
      },
      data: new Uint8Array([1]),
    };
    await expect(s.save({ snapshot })).rejects.toThrow(/ENOSPC/);
    expect(s.snapshot().meta.index).toBe(0);
    await s.close();
    expect(fs.readdirSync(dir).some((n) => n.endsWith(".snap.tmp"))).toBe(true);
    const logger = recordingLogger();
    const r = await openFileStorage(dir, { logger });
    expect(r.snapshot().meta.index).toBe(0);
    expect(r.lastIndex()).toBe(4);
    expect(fs.readdirSync(dir).some((n) => n.endsWith(".tmp"))).toBe(false);
    expect(logger.lines).toContainEqual(expect.stringMatching(/info .*removing .*\.snap\.tmp/));
    await r.close();
  });

  it("refuses writes after close", async () => {
    const s = await openFileStorage(newDir());
    await s.close();
    await expect(s.save({ entries: entries(1, 1, 1) })).rejects.toBeInstanceOf(StorageClosedError);
    await expect(s.compact(1)).rejects.toBeInstanceOf(StorageClosedError);
  });
});
