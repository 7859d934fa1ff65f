export { PausedProcess } from "./pausedProcess.js";
export { advanceUntil, settleInSimulatedTime, useSimulatedTime } from "./simulatedTime.js";
export type { StorageConformanceFactory } from "./storageConformance.js";
export { describeStorageConformance } from "./storageConformance.js";
