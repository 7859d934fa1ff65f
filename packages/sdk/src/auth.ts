import { createHash, timingSafeEqual } from "node:crypto";

/** Compares a presented secret with the expected one in constant time (hashes first, so lengths do not leak). */
export function secretMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The bearer token of an Authorization header, if any. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer (.+)$/.exec(header);
  return m?.[1];
}
