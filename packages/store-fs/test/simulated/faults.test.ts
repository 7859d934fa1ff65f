import { SimulatedDisk } from "@raftkit/store-fs/testing";
import { describe, expect, it } from "vitest";
import { openFileStorage, StorageFailedError } from "../../src/index.js";
import { entries } from "../helpers.js";
import { seededRandom } from "./seeded.js";

describe("FileStorage on a failing SimulatedDisk", () => {
  for (const fault of [
    { op: "datasync", code: "EIO" },
    { op: "write", code: "ENOSPC" },
    { op: "write", code: "EIO" },
    { op: "datasync", code: "ENOSPC" },
  ] as const) {
    it(`a ${fault.code} on ${fault.op} fails the save and every later write; after a restart the acknowledged data is there`, async () => {
      const disk = new SimulatedDisk({ random: seededRandom(7) });
      const s = await openFileStorage("/n", { vfs: disk.vfs });
      await s.save({ entries: entries(1, 3, 1), hardState: { term: 1, vote: "a", commit: 2 } });
      disk.failNext({ op: fault.op, code: fault.code, path: /\.wal/ });
      const err = await s.save({ entries: entries(4, 2, 1) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageFailedError);
      expect((err as Error).message).toMatch(new RegExp(`${fault.code}: .*'/n/.*\\.wal.*restart the node`));
      await expect(s.save({ hardState: { term: 2, vote: null, commit: 2 } })).rejects.toBeInstanceOf(
        StorageFailedError,
      );
      expect(s.entries(1, 4)).toEqual(entries(1, 3, 1));
      disk.crash();
      const r = await openFileStorage("/n", { vfs: disk.vfs });
      expect(r.lastIndex()).toBe(3);
      expect(r.initialState().hardState).toEqual({ term: 1, vote: "a", commit: 2 });
      await r.save({ entries: entries(4, 1, 2) });
      expect(r.entries(1, 5)).toEqual([...entries(1, 3, 1), ...entries(4, 1, 2)]);
      await r.close();
    });
  }

  it("a failed segment creation fails the save; a restart recovers", async () => {
    const disk = new SimulatedDisk({ random: seededRandom(8) });
    const s = await openFileStorage("/n", { vfs: disk.vfs, segmentBytes: 1024 });
    await s.save({ entries: entries(1, 4, 1, 100) });
    // Both the preallocated next segment and a segment made on the spot fail (whichever comes first).
    disk.failNext({ op: "create", code: "ENOSPC", path: /\.wal/ });
    disk.failNext({ op: "create", code: "ENOSPC", path: /\.wal/ });
    let failed: unknown = null;
    for (let i = 0; i < 10 && !failed; i++) {
      failed = await s.save({ entries: entries(5 + i * 4, 4, 1, 100) }).then(
        () => null,
        (e: unknown) => e,
      );
    }
    expect(failed).toBeInstanceOf(StorageFailedError);
    expect((failed as Error).message).toMatch(/ENOSPC: no space left on device, open '\/n\//);
    const acked = s.lastIndex();
    disk.crash();
    const r = await openFileStorage("/n", { vfs: disk.vfs, segmentBytes: 1024 });
    expect(r.lastIndex()).toBeGreaterThanOrEqual(acked);
    await r.close();
  });
});
