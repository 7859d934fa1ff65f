import { SimulatedDisk } from "@raftkit/store-fs/testing";
import { describe, expect, it } from "vitest";
import { openFileStorage, StorageLockedError } from "../../src/index.js";
import { entries } from "../helpers.js";
import { seededRandom } from "./seeded.js";

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe("SimulatedDisk durability", () => {
  it("keeps across a crash only what was datasynced, under directory entries that were synced", async () => {
    const disk = new SimulatedDisk({ random: () => 0 });
    const vfs = disk.vfs;
    await vfs.mkdir("/d");
    await vfs.syncDir("/");
    const a = await vfs.open("/d/a", "wx");
    await a.write(bytes(10, 1), 0);
    await a.datasync();
    await a.write(bytes(10, 2), 10);
    await vfs.syncDir("/d");
    const b = await vfs.open("/d/b", "wx");
    await b.write(bytes(4, 3), 0);
    await b.datasync();
    await vfs.rename("/d/a", "/d/c");
    expect(disk.listFiles()).toEqual(["/d/b", "/d/c"]);
    expect(disk.listDurableFiles()).toEqual(["/d/a"]);
    expect(disk.readDurable("/d/a")).toEqual(bytes(10, 1));
    disk.crash();
    // b was fsynced but its entry never was; the rename is undone; a's unsynced write is gone (random 0 keeps none).
    expect(disk.listFiles()).toEqual(["/d/a"]);
    expect(disk.readFile("/d/a")).toEqual(bytes(10, 1));
  });

  it("tears the last unsynced write at a sector boundary drawn from the random source, the rest keeping the old bytes", async () => {
    const tear = async (seed: number) => {
      const disk = new SimulatedDisk({ random: seededRandom(seed) });
      disk.writeFile("/f", new Uint8Array(4096));
      const f = await disk.vfs.open("/f", "r+");
      await f.write(bytes(2000, 7), 100);
      return { report: disk.crash(), after: disk.readFile("/f") };
    };
    const kept = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const { report, after } = await tear(seed);
      expect(await tear(seed)).toEqual({ report, after });
      const t = report.torn[0]!.tear;
      expect([0, 412, 924, 1436, 1948, 2000]).toContain(t.kept);
      expect(after.subarray(100, 100 + t.kept).every((b) => b === 7)).toBe(true);
      expect(after.subarray(100 + t.kept).every((b) => b === 0)).toBe(true);
      expect(after.byteLength).toBe(4096);
      kept.add(t.kept);
    }
    expect(kept.size).toBeGreaterThan(3);
  });

  it("flips a bit durably, lists files, reads durable bytes", async () => {
    const disk = new SimulatedDisk({ random: () => 0 });
    disk.writeFile("/x/y/z", bytes(8, 0));
    disk.flipBit("/x/y/z", 3, 2);
    expect(disk.readFile("/x/y/z")[3]).toBe(4);
    disk.crash();
    expect(disk.readDurable("/x/y/z")![3]).toBe(4);
    expect(disk.listFiles("/x")).toEqual(["/x/y/z"]);
  });
});

describe("SimulatedDisk faults", () => {
  it("fails the next matching operation once with a node-shaped error naming the path; a failed datasync leaves the data volatile", async () => {
    const disk = new SimulatedDisk({ random: () => 0.99 });
    disk.writeFile("/f", new Uint8Array(0));
    disk.failNext({ op: "datasync", path: "/f" });
    const f = await disk.vfs.open("/f", "r+");
    await f.write(bytes(3, 9), 0);
    const err = (await f.datasync().catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err.code).toBe("EIO");
    expect(err.message).toBe("EIO: i/o error, fdatasync '/f'");
    expect(disk.injected).toEqual([{ op: "datasync", code: "EIO", path: "/f", incarnation: 1 }]);
    expect(disk.readDurable("/f")).toEqual(new Uint8Array(0));
    disk.failNext({ op: "create", code: "ENOSPC", path: /\.tmp$/ });
    await expect(disk.vfs.open("/g.tmp", "wx")).rejects.toMatchObject({ code: "ENOSPC" });
    expect(disk.listFiles()).toEqual(["/f"]);
  });

  it("fails operations at the given rates, drawing from the random source", async () => {
    const disk = new SimulatedDisk({ random: seededRandom(3), faultRates: { write: 0.5 } });
    const f = await disk.vfs.open("/f", "wx");
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, (_, k) =>
        Promise.resolve(f.write(bytes(1, 1), k)).then(
          () => "ok",
          (e: NodeJS.ErrnoException) => e.code,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === "ok").length).toBeGreaterThan(30);
    expect(new Set(outcomes)).toEqual(new Set(["ok", "EIO", "ENOSPC"]));
  });
});

describe("SimulatedDisk incarnations", () => {
  it("refuses a second live open of a directory; a crash frees it, and the crashed incarnation's calls never settle", async () => {
    const disk = new SimulatedDisk({ random: seededRandom(1) });
    const s = await openFileStorage("/n1", { vfs: disk.vfs });
    await s.save({ entries: entries(1, 3, 1) });
    const err = await openFileStorage("/n1", { vfs: disk.vfs }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageLockedError);
    expect((err as StorageLockedError).message).toContain("this process (pid 1)");
    const old = disk.vfs;
    disk.crash();
    let settled = false;
    void s.save({ entries: entries(4, 1, 1) }).finally(() => {
      settled = true;
    });
    old.readdir("/").finally(() => {
      settled = true;
    });
    const r = await openFileStorage("/n1", { vfs: disk.vfs });
    expect(r.entries(1, 4)).toEqual(entries(1, 3, 1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    await r.close();
  });
});
