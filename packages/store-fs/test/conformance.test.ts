import { describeStorageConformance } from "@raftkit/core/testing";
import { type FileStorage, openFileStorage } from "../src/index.js";
import { tempDirs } from "./helpers.js";

const dir = tempDirs();

describeStorageConformance("FileStorage", {
  create: () => openFileStorage(dir()),
  reopen: (closed) => openFileStorage((closed as FileStorage).dir),
});

describeStorageConformance("FileStorage with small segments and no cache", {
  create: () => openFileStorage(dir(), { segmentBytes: 1024, cacheBytes: 0 }),
  reopen: (closed) => openFileStorage((closed as FileStorage).dir, { segmentBytes: 1024, cacheBytes: 0 }),
});
