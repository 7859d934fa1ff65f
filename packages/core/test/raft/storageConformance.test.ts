import { MemoryStorage } from "@raftkit/core";
import { describeStorageConformance } from "@raftkit/core/testing";

describeStorageConformance("MemoryStorage", { create: () => new MemoryStorage() });
