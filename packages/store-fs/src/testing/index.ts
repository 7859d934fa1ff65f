export type { DiskErrorCode } from "./diskErrors.js";
export type { Tear } from "./fileContent.js";
export type {
  CrashReport,
  DiskFault,
  DiskFaultCode,
  DiskFaultOp,
  DiskOperation,
  InjectedFault,
  SimulatedDiskOptions,
} from "./simulatedDisk.js";
export { SimulatedDisk } from "./simulatedDisk.js";
