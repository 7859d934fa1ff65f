export type { FaultOptions } from "./chaosFaults.js";
export type { CheckMachineOptions, CheckMachineReport, SeedReport } from "./checkMachine.js";
export { checkMachine, MachineCheckError } from "./checkMachine.js";
export type { EntryContext, HistoryOp, Outcome } from "./history.js";
export { NondeterministicReducerError } from "./machineModel.js";
export type { ArgOf, ChaosRandom, OperationSpec, Workload } from "./workload.js";
