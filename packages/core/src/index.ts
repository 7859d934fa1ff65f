export { ConfChangeError } from "./confchange/changer.js";
export type {
  ConfChange,
  ConfChangeSingle,
  ConfChangeTransition,
  ConfChangeType,
} from "./confchange/confChange.js";
export { decodeConfChange, encodeConfChange } from "./confchange/confChange.js";
export type { ProposalDropReason, RaftkitErrorCode } from "./errors.js";
export {
  CompactedError,
  ConfigError,
  CorruptLogError,
  LeaderChangedError,
  ProposalDroppedError,
  ProposalLostError,
  RaftkitError,
  SnapshotOutOfDateError,
  SnapshotTemporarilyUnavailableError,
  StoppedError,
  TimeoutError,
  UnavailableError,
} from "./errors.js";
export type { Clock, TimerHandle } from "./node/clock.js";
export { sleep, systemClock } from "./node/clock.js";
export { MemoryNetwork } from "./node/memoryTransport.js";
export type { NodeStatus } from "./node/nodeStatus.js";
export type { ProposalFailure, RaftNodeObserver } from "./node/observer.js";
export type { AppliedEntry, RaftNodeOptions } from "./node/raftNode.js";
export { RaftNode } from "./node/raftNode.js";
export type { RuntimeSnapshot } from "./node/runtimeSnapshot.js";
export { decodeRuntimeSnapshot, encodeRuntimeSnapshot } from "./node/runtimeSnapshot.js";
export type { SnapshotBytes, StateMachine } from "./node/stateMachine.js";
export type { Transport, TransportHandler } from "./node/transport.js";
export type { RaftConfig } from "./raft/config.js";
export { entrySize } from "./raft/entries.js";
export type { LogFields, Logger } from "./raft/logger.js";
export { silentLogger } from "./raft/logger.js";
export type { Random } from "./raft/random.js";
export { deriveSeed, SeededRandom } from "./raft/random.js";
export { RawNode } from "./raft/rawNode.js";
export type { InitialState, Storage, StorageBatch, WritableStorage } from "./raft/storage.js";
export { MemoryStorage } from "./raft/storage.js";
export type {
  ConfState,
  Entry,
  EntryType,
  HardState,
  Message,
  MessageType,
  NodeId,
  ProgressState,
  ProgressStatus,
  ReadState,
  Ready,
  Role,
  Snapshot,
  SnapshotMeta,
  SoftState,
  Status,
} from "./raft/types.js";
export { emptyConfState, isEmptySnapshot, isLocalMessage, MESSAGE_TYPES, message } from "./raft/types.js";
