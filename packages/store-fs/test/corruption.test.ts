import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CorruptWalError, type FileStorage, openFileStorage } from "../src/index.js";
import { SECTOR } from "../src/wal/tornWrite.js";
import { entries, recordingLogger, segmentFiles, tempDirs } from "./helpers.js";

const newDir = tempDirs();

/**
 * A directory with one segment holding three batches, the third with entries of `thirdSize`
 * bytes. Returns the segment's bytes and where the frames of the second and third batch start
 * (the file ends after the third: the first segment is not preallocated).
 */
async function threeBatches(
  thirdSize = 24,
): Promise<{ seg: Buffer; name: string; second: number; third: number }> {
  const dir = newDir();
  const s = await openFileStorage(dir);
  const file = () => segmentFiles(dir)[0]!;
  await s.save({ entries: entries(1, 3, 1), hardState: { term: 1, vote: "a", commit: 1 } });
  const second = fs.statSync(file()).size;
  await s.save({ entries: entries(4, 2, 1, 40) });
  const third = fs.statSync(file()).size;
  await s.save({ entries: entries(6, 3, 2, thirdSize), hardState: { term: 2, vote: "b", commit: 5 } });
  await s.close();
  return { seg: fs.readFileSync(file()), name: path.basename(file()), second, third };
}

/** A new directory holding only `seg` under `name`. */
function dirWith(name: string, seg: Buffer): string {
  const dir = newDir();
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, name), seg);
  return dir;
}

/** Where the written bytes of `buf` end: zeros at the end read as unused (preallocated) space, not as a torn write. */
function writtenEnd(buf: Buffer, from: number): number {
  let end = buf.byteLength;
  while (end > from && buf[end - 1] === 0) end--;
  return end;
}

function flip(buf: Buffer, at: number, mask = 0x5a): Buffer {
  const b = Buffer.from(buf);
  b[at] = b[at]! ^ mask;
  return b;
}

async function openError(dir: string): Promise<unknown> {
  return openFileStorage(dir).then(
    async (s) => {
      await s.close();
      return null;
    },
    (e: unknown) => e,
  );
}

async function expectTwoBatches(s: FileStorage): Promise<void> {
  expect(s.lastIndex()).toBe(5);
  expect(s.entries(1, 6)).toEqual([...entries(1, 3, 1), ...entries(4, 2, 1, 40)]);
  expect(s.initialState().hardState).toEqual({ term: 1, vote: "a", commit: 1 });
}

describe("a torn write at the end of the log", () => {
  it("is cut off wherever the last record was cut, the cut logged with its size", async () => {
    const { seg, name, third } = await threeBatches();
    for (let cut = third; cut < seg.byteLength; cut++) {
      const logger = recordingLogger();
      const dir = dirWith(name, seg.subarray(0, cut));
      const s = await openFileStorage(dir, { logger });
      await expectTwoBatches(s);
      const written = writtenEnd(seg.subarray(0, cut), third);
      if (written > third) {
        expect(logger.lines).toContainEqual(
          expect.stringContaining(`${name}: cut ${written - third} bytes at offset ${third}`),
        );
      } else {
        expect(logger.lines).toEqual([]);
      }
      const after = fs.readFileSync(path.join(dir, name));
      expect(after.subarray(0, third).equals(seg.subarray(0, third))).toBe(true);
      expect(after.subarray(third).every((b) => b === 0)).toBe(true);
      await s.close();
    }
  });

  it("is cut off whichever sector of it never reached the disk, in preallocated space", async () => {
    const { seg, name, third } = await threeBatches(700);
    const preallocated = Buffer.concat([seg, Buffer.alloc(4 * SECTOR)]);
    const sectors = new Set<number>();
    for (let at = third; at < seg.byteLength; at = (Math.floor(at / SECTOR) + 1) * SECTOR) {
      const torn = Buffer.from(preallocated);
      torn.fill(0, at, Math.min(seg.byteLength, (Math.floor(at / SECTOR) + 1) * SECTOR));
      const logger = recordingLogger();
      const s = await openFileStorage(dirWith(name, torn), { logger });
      await expectTwoBatches(s);
      expect(logger.lines).toContainEqual(expect.stringContaining(`bytes at offset ${third}`));
      await s.close();
      sectors.add(Math.floor(at / SECTOR));
    }
    expect(sectors.size).toBeGreaterThan(3);
  });

  it("leaves a log that takes new writes and reopens cleanly", async () => {
    const { seg, name, third } = await threeBatches();
    const dir = dirWith(name, seg.subarray(0, third + 20));
    let s = await openFileStorage(dir);
    await s.save({ entries: entries(6, 2, 3) });
    await s.close();
    const logger = recordingLogger();
    s = await openFileStorage(dir, { logger });
    expect(s.entries(1, 8)).toEqual([...entries(1, 3, 1), ...entries(4, 2, 1, 40), ...entries(6, 2, 3)]);
    expect(logger.lines).toEqual([]);
    await s.close();
  });
});

describe("damage to the last frame, fsynced and perhaps acknowledged", () => {
  /** Flips bits of every byte of the last frame in turn: each must stop the open at the frame's offset, never be cut as torn. */
  async function expectEveryFlipRefused(
    seg: Buffer,
    name: string,
    third: number,
    end: number,
    bits: (at: number) => number[],
  ): Promise<void> {
    for (let at = third; at < end; at++) {
      for (const bit of bits(at)) {
        const dir = dirWith(name, flip(seg, at, 1 << bit));
        const err = await openError(dir);
        expect(err, `byte ${at} bit ${bit}`).toBeInstanceOf(CorruptWalError);
        expect((err as CorruptWalError).file).toBe(path.join(dir, name));
        expect((err as CorruptWalError).offset).toBe(third);
        expect(fs.readFileSync(path.join(dir, name)).equals(flip(seg, at, 1 << bit))).toBe(true);
      }
    }
  }

  it("a flipped bit anywhere in it stops the open with CorruptWalError naming the file and the frame's offset", async () => {
    const { seg, name, third } = await threeBatches();
    await expectEveryFlipRefused(seg, name, third, seg.byteLength, (at) => [at % 8, (at + 3) % 8]);
  });

  it("a flipped bit anywhere in it, with preallocated zeros after it, stops the open", async () => {
    const { seg, name, third } = await threeBatches();
    const padded = Buffer.concat([seg, Buffer.alloc(2 * SECTOR)]);
    await expectEveryFlipRefused(padded, name, third, seg.byteLength, (at) => [at % 8]);
  });

  it("a flipped bit in the payload of a large frame spanning sectors stops the open", async () => {
    const { seg, name, third } = await threeBatches(700);
    const padded = Buffer.concat([seg, Buffer.alloc(SECTOR)]);
    for (const at of [third + 100, third + SECTOR, seg.byteLength - 20]) {
      const dir = dirWith(name, flip(padded, at, 4));
      const err = await openError(dir);
      expect(err, `byte ${at}`).toBeInstanceOf(CorruptWalError);
      expect((err as CorruptWalError).message).toContain(`${path.join(dir, name)} at byte ${third}`);
    }
  });
});

describe("damage anywhere else", () => {
  it("stops the open with CorruptWalError naming the file and the offset, whichever byte of an earlier record is hit", async () => {
    const { seg, name, second, third } = await threeBatches();
    for (let at = second; at < third; at++) {
      const dir = dirWith(name, flip(seg, at));
      const err = await openFileStorage(dir).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, `byte ${at}`).toBeInstanceOf(CorruptWalError);
      const c = err as CorruptWalError;
      expect(c.code).toBe("CORRUPT_WAL");
      expect(c.file).toBe(path.join(dir, name));
      expect(c.offset).toBe(second);
      expect(c.message).toContain(`${path.join(dir, name)} at byte ${second}`);
      // The failed open released the directory.
      expect(fs.existsSync(path.join(dir, "LOCK"))).toBe(false);
    }
  });

  it("in a segment that is not the last is never taken for a torn write", async () => {
    const dir = newDir();
    const s = await openFileStorage(dir, { segmentBytes: 1024 });
    for (let i = 0; i < 6; i++) await s.save({ entries: entries(1 + i * 4, 4, 1, 100) });
    await s.close();
    const [first] = segmentFiles(dir);
    const size = fs.statSync(first!).size;
    fs.truncateSync(first!, size - 8);
    await expect(openFileStorage(dir)).rejects.toThrow(CorruptWalError);
    await expect(openFileStorage(dir)).rejects.toThrow(`${first} at byte`);
  });

  it("in a segment's header, or a missing segment, stops the open", async () => {
    const dir = newDir();
    const s = await openFileStorage(dir, { segmentBytes: 1024 });
    for (let i = 0; i < 8; i++) await s.save({ entries: entries(1 + i * 4, 4, 1, 100) });
    await s.close();
    const segs = segmentFiles(dir);
    expect(segs.length).toBeGreaterThan(2);
    const last = segs[segs.length - 1]!;
    const original = fs.readFileSync(last);
    fs.writeFileSync(last, flip(original, 20));
    await expect(openFileStorage(dir)).rejects.toThrow(/at byte 0: segment header checksum mismatch/);
    fs.writeFileSync(last, original);
    fs.rmSync(segs[1]!);
    await expect(openFileStorage(dir)).rejects.toThrow(
      `segment ${path.basename(segs[1]!).slice(0, 20).replace(/^0+/, "")} is missing`,
    );
  });

  it("found by a later read from disk throws CorruptWalError rather than returning the entry", async () => {
    const dir = newDir();
    const s = await openFileStorage(dir, { cacheBytes: 0 });
    await s.save({ entries: entries(1, 3, 1, 64) });
    const [file] = segmentFiles(dir);
    const buf = fs.readFileSync(file!);
    const at = buf.lastIndexOf(Buffer.from(entries(2, 1, 1, 64)[0]!.data));
    fs.writeFileSync(file!, flip(buf, at + 5));
    expect(s.entries(1, 2)).toEqual(entries(1, 1, 1, 64));
    expect(() => s.entries(1, 4)).toThrow(CorruptWalError);
    expect(() => s.entries(2, 3)).toThrow(/entry 2: entry checksum mismatch/);
    await s.close();
  });
});

describe("a damaged snapshot file", () => {
  const snap = (index: number, term: number) => ({
    meta: {
      index,
      term,
      confState: {
        voters: [`v${index}`],
        learners: [],
        votersOutgoing: [],
        learnersNext: [],
        autoLeave: false,
      },
    },
    data: new TextEncoder().encode(`state at ${index}`),
  });
  const snapFile = (dir: string, index: number) =>
    path.join(
      dir,
      fs.readdirSync(dir).find((n) => n.startsWith(String(index).padStart(20, "0")) && n.endsWith(".snap"))!,
    );

  it("falls back to the previous sound snapshot, with a warning, when the log holds everything after it", async () => {
    const dir = newDir();
    let s = await openFileStorage(dir);
    await s.save({ entries: entries(1, 10, 1) });
    await s.save({ snapshot: snap(4, 1) });
    await s.compact(4);
    await s.save({ snapshot: snap(8, 1) });
    await s.close();
    const file = snapFile(dir, 8);
    fs.writeFileSync(file, flip(fs.readFileSync(file), 40));
    const logger = recordingLogger();
    s = await openFileStorage(dir, { logger });
    expect(s.snapshot()).toEqual(snap(4, 1));
    expect(s.initialState().confState.voters).toEqual(["v4"]);
    expect([s.firstIndex(), s.lastIndex()]).toEqual([5, 10]);
    expect(logger.lines.join("\n")).toMatch(/warn .*checksum mismatch/);
    expect(logger.lines.join("\n")).toMatch(/warn .*using the older snapshot/);
    await s.close();
  });

  it("is a clear error when no sound snapshot covers where the log starts", async () => {
    const dir = newDir();
    const s = await openFileStorage(dir);
    await s.save({ entries: entries(1, 10, 1) });
    await s.save({ snapshot: snap(4, 1) });
    await s.save({ snapshot: snap(8, 1) });
    await s.compact(8);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith(".snap"))).toHaveLength(1);
    await s.close();
    const file = snapFile(dir, 8);
    fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 50));
    const err = await openFileStorage(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptWalError);
    expect((err as CorruptWalError).file).toBe(file);
    expect((err as CorruptWalError).message).toMatch(/no sound snapshot covers the entries before 9/);
  });

  it("is replaced by no snapshot when the log still starts at 1", async () => {
    const dir = newDir();
    let s = await openFileStorage(dir);
    await s.save({ entries: entries(1, 10, 1) });
    await s.save({ snapshot: snap(6, 1) });
    await s.close();
    fs.rmSync(snapFile(dir, 6));
    const logger = recordingLogger();
    s = await openFileStorage(dir, { logger });
    expect(s.snapshot().meta.index).toBe(0);
    expect(s.entries(1, 11)).toEqual(entries(1, 10, 1));
    expect(logger.lines.join("\n")).toMatch(/warn .*the snapshot at index 6 is missing.*the log starts at 1/);
    await s.close();
  });
});
