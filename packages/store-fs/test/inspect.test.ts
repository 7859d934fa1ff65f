import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { inspectStorage, openFileStorage } from "../src/index.js";
import { entries, segmentFiles, tempDirs } from "./helpers.js";

const newDir = tempDirs();

/** A closed storage holding entries 1..8 (the last three at term 2) and a snapshot at 3. */
async function written(): Promise<{ dir: string; third: number }> {
  const dir = newDir();
  const s = await openFileStorage(dir);
  await s.save({ entries: entries(1, 5, 1), hardState: { term: 1, vote: "a", commit: 4 } });
  await s.save({
    snapshot: {
      meta: { index: 3, term: 1, confState: { ...confState, voters: ["a", "b"] } },
      data: Buffer.from("s"),
    },
  });
  const third = fs.statSync(segmentFiles(dir)[0]!).size;
  await s.save({ entries: entries(6, 3, 2, 40), hardState: { term: 2, vote: "b", commit: 7 } });
  await s.close();
  return { dir, third };
}

const confState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

describe("inspectStorage", () => {
  it("reports the log, hard state, snapshot and files of a sound directory", async () => {
    const { dir } = await written();
    const r = await inspectStorage(dir);
    expect(r).toMatchObject({
      ok: true,
      empty: false,
      firstIndex: 1,
      lastIndex: 8,
      lastTerm: 2,
      hardState: { term: 2, vote: "b", commit: 7 },
      snapshot: { index: 3, term: 1, membership: { voters: ["a", "b"] } },
      problems: [],
    });
    expect(r.segments.map((s) => s.name)).toEqual(segmentFiles(dir).map((f) => path.basename(f)));
    expect(r.snapshotFiles).toHaveLength(1);
  });

  it("names the file and offset of a damaged record, and changes nothing", async () => {
    const { dir, third } = await written();
    const file = segmentFiles(dir)[0]!;
    const bytes = fs.readFileSync(file);
    bytes[third - 20] = bytes[third - 20]! ^ 0x5a;
    fs.writeFileSync(file, bytes);
    const r = await inspectStorage(dir);
    expect(r.ok).toBe(false);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]!.file).toBe(file);
    expect(r.problems[0]!.offset).toBeGreaterThan(0);
    expect(r.problems[0]!.message).toMatch(/corrupt storage/);
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  });

  it("reports a torn tail as a repair it would make, without making it", async () => {
    const { dir, third } = await written();
    const file = segmentFiles(dir)[0]!;
    const before = fs.readFileSync(file);
    fs.truncateSync(file, third + 30);
    const torn = fs.readFileSync(file);
    const r = await inspectStorage(dir);
    expect(before.byteLength).toBeGreaterThan(torn.byteLength);
    expect(r.ok).toBe(true);
    expect(r.lastIndex).toBe(5);
    expect(r.repairs.join("\n")).toMatch(/cut .* bytes/);
    expect(fs.readFileSync(file).equals(torn)).toBe(true);
  });

  it("an empty directory is empty, not damaged", async () => {
    const dir = newDir();
    fs.mkdirSync(dir);
    expect(await inspectStorage(dir)).toMatchObject({ ok: true, empty: true, lastIndex: 0 });
  });
});
