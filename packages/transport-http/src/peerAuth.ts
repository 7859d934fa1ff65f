import { createHash, timingSafeEqual } from "node:crypto";
import { ConfigError } from "@raftkit/core";

/** The request header naming the cluster a peer belongs to. */
export const CLUSTER_HEADER = "x-raftkit-cluster-id";
/** The request header naming the sending node, for logs and error messages only. */
export const FROM_HEADER = "x-raftkit-from";

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/**
 * Throws a `ConfigError` unless `secret` can travel in a header unchanged: printable ASCII
 * without spaces (HTTP trims spaces at the ends of header values).
 *
 * @internal
 */
export function assertSecretFormat(nodeId: string, secret: string): void {
  if (!/^[\x21-\x7e]+$/.test(secret)) {
    throw new ConfigError(
      `node ${nodeId}: the transport secret must be non-empty printable ASCII without spaces (it travels in an HTTP header); e.g. a random hex or base64url string`,
    );
  }
}

/**
 * Returns a check of an `Authorization: Bearer <secret>` header against `secret` in constant
 * time: both sides are hashed first, so neither the content nor the length of the secret leaks
 * through timing.
 *
 * @internal
 */
export function secretCheck(secret: string): (authorization: string | undefined) => boolean {
  const expected = digest(secret);
  return (authorization) => {
    if (authorization === undefined || !authorization.startsWith("Bearer ")) return false;
    return timingSafeEqual(digest(authorization.slice(7)), expected);
  };
}

/** The headers every peer request carries. @internal */
export function peerHeaders(clusterId: string, secret: string, from: string): Record<string, string> {
  return {
    authorization: `Bearer ${secret}`,
    [CLUSTER_HEADER]: encodeURIComponent(clusterId),
    [FROM_HEADER]: encodeURIComponent(from),
  };
}

/** A peer header as sent (peer headers are URI-encoded); undefined when absent, as is when not valid encoding. */
export function decodeHeader(v: string | string[] | undefined): string | undefined {
  if (typeof v !== "string") return undefined;
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}
