import { createHash } from "node:crypto";

/**
 * The hash two replicas compare to tell whether they hold the same state: SHA-256 of the
 * machine's snapshot encoding (state, sessions, members, log time), hex. Equal states encode
 * alike because every node builds them by the same operations in the same order (Map and
 * object key order included).
 */
export function stateHash(snapshot: Uint8Array): string {
  return createHash("sha256").update(snapshot).digest("hex");
}
