export type { StorageConformanceFactory } from "./storageConformance.js";
export { describeStorageConformance } from "./storageConformance.js";
