export type { NodeStatus, Role } from "@raftkit/core";
export {
  ProposalDroppedError,
  ProposalLostError,
  RaftkitError,
  StoppedError,
  TimeoutError,
} from "@raftkit/core";
export { InvalidCallOptionsError, MAX_TIMEOUT_MS } from "./callOptions.js";
export type { CatchUpProgress } from "./cluster/catchUp.js";
export type { AddVoterOptions, CatchUpOptions } from "./cluster/clusterApi.js";
export { errorFromApi, runMembershipCall } from "./cluster/membershipCall.js";
export type { MembershipStepFailure } from "./cluster/membershipErrors.js";
export { MembershipRefusedError, MembershipStepError } from "./cluster/membershipErrors.js";
export type {
  MembershipOperation,
  MembershipProgress,
  MembershipStep,
} from "./cluster/membershipProgress.js";
export type { Client, ClientCluster, ClientMembershipOptions, ClientOptions } from "./createClient.js";
export { ApiError, createClient } from "./createClient.js";
export { defineMachine } from "./defineMachine.js";
export { NondeterminismError } from "./determinismGuards.js";
export type { DivergenceEvent } from "./divergence.js";
export { DivergedError } from "./divergence.js";
export type { ValidationIssue } from "./errors.js";
export {
  CommandError,
  DecodeError,
  QueryError,
  SessionExpiredError,
  UnknownOperationError,
  ValidationError,
} from "./errors.js";
export type { AppApiOptions } from "./httpApi.js";
export { createAppRouter } from "./httpApi.js";
export type { ClusterApi, MachineNode, MachineNodeOptions, MachineNodeStatus } from "./machineNode.js";
export { createMachineNode } from "./machineNode.js";
export type { MachineUpgrade } from "./machineUpgrade.js";
export {
  CommandNotAvailableError,
  MachineTooOldError,
  UpgradeRefusedError,
} from "./machineVersionErrors.js";
export type { NodeInfo } from "./operatorRoutes.js";
export { createOperatorRouter, SDK_VERSION } from "./operatorRoutes.js";
export { ReplicatedMachine } from "./replicatedMachine.js";
export type { ReadonlySortedMap, SortedMapKey, SortedMapRange } from "./sortedMap/sortedMap.js";
export { SortedMap } from "./sortedMap/sortedMap.js";
export { readIdentity, writeIdentity } from "./start/identity.js";
export type { DataDirIdentity } from "./start/startErrors.js";
export {
  ClusterExistsError,
  IdentityMismatchError,
  InvalidOptionsError,
  LostDataError,
} from "./start/startErrors.js";
export type { RaftkitNode, StartNodeOptions } from "./startNode.js";
export { startNode } from "./startNode.js";
export type { ReadonlyState, StateDraft } from "./stateTypes.js";
export type {
  AnyCommand,
  AnyMachine,
  AnyQuery,
  AnyQueryFn,
  AnyReducer,
  ArgsOf,
  CommandContext,
  CommandOptions,
  CommandSince,
  Commands,
  CommandWithInput,
  CommitEvent,
  Consistency,
  Machine,
  Migrate,
  ParamsWithOptions,
  Queries,
  QueryOptions,
  QueryWithInput,
  ResultOf,
  StateOf,
} from "./types.js";
export type { ApiErrorBody, ApiErrorCode } from "./wire.js";
