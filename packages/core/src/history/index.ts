export type { Operation } from "./history.js";
export { historyToJsonLines, parseHistory } from "./history.js";
export type { CheckOptions, LinearizabilityResult } from "./linearizability.js";
export { checkLinearizable } from "./linearizability.js";
