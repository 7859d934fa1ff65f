import { describeStorageConformance } from "@raftkit/core/testing";
import { SimulatedDisk } from "@raftkit/store-fs/testing";
import { type FileStorage, openFileStorage } from "../../src/index.js";
import { seededRandom } from "./seeded.js";

const disk = new SimulatedDisk({ random: seededRandom(1) });
let n = 0;

describeStorageConformance("FileStorage on a SimulatedDisk", {
  create: () => openFileStorage(`/data/d${++n}`, { vfs: disk.vfs }),
  reopen: (closed) => openFileStorage((closed as FileStorage).dir, { vfs: disk.vfs }),
});

describeStorageConformance("FileStorage on a SimulatedDisk with small segments and no cache", {
  create: () => openFileStorage(`/data/d${++n}`, { vfs: disk.vfs, segmentBytes: 1024, cacheBytes: 0 }),
  reopen: (closed) =>
    openFileStorage((closed as FileStorage).dir, { vfs: disk.vfs, segmentBytes: 1024, cacheBytes: 0 }),
});
