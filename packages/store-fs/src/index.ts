export type { StoreFsErrorCode } from "./errors.js";
export { CorruptWalError, StorageClosedError, StorageFailedError, StorageLockedError } from "./errors.js";
export type { FileStorageStats } from "./fileStorage.js";
export { FileStorage } from "./fileStorage.js";
export { nodeVfs } from "./nodeVfs.js";
export { openFileStorage } from "./openFileStorage.js";
export type { FileStorageOptions, WalCommit } from "./options.js";
export type { Vfs, VfsFile, VfsProcess, VfsReadFile } from "./vfs.js";
