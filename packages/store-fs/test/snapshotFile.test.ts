import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { encodeSnapshot, nodeVfs } from "../src/index.js";
import { readSnapshotFile, snapshotFileName, writeSnapshotFile } from "../src/snapshot/snapshotFile.js";
import { tempDirs } from "./helpers.js";

const newDir = tempDirs();
const confState = { voters: ["a"], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

describe("writing a snapshot file", () => {
  it("writes encodeSnapshot's bytes, checksummed a megabyte at a time with the event loop let in between", async () => {
    const dir = newDir();
    fs.mkdirSync(dir);
    const data = new Uint8Array(5 * 1024 * 1024 + 123);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const snapshot = { meta: { index: 7, term: 2, confState }, data };
    let turns = 0;
    const name = await writeSnapshotFile(nodeVfs, dir, snapshot, true, async () => {
      turns++;
    });
    expect(name).toBe(snapshotFileName(7, 2));
    expect(fs.readFileSync(path.join(dir, name)).equals(encodeSnapshot(snapshot))).toBe(true);
    expect(turns).toBe(5);
    const back = await readSnapshotFile(nodeVfs, dir, name);
    expect(back.meta).toEqual(snapshot.meta);
    expect(Buffer.from(back.data).equals(Buffer.from(data))).toBe(true);
  });
});
