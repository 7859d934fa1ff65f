const STAMPED = /^rk1-([0-9a-z]{1,11})-[0-9a-f]{24}$/;

/**
 * A new session id, stamped with its creation time: `rk1-<ms, base 36>-<96 random bits>`.
 * The stamp lets the replicated session table tell an expired session from a new one (see
 * {@link SessionTable}); `now` is the caller's clock.
 */
export function newSessionId(now: number): string {
  const random = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
  return `rk1-${Math.max(0, Math.floor(now)).toString(36)}-${random}`;
}

/** The creation time stamped in a session id by {@link newSessionId}; undefined for any other id. */
export function sessionCreatedAt(id: string): number | undefined {
  const m = STAMPED.exec(id);
  return m ? Number.parseInt(m[1]!, 36) : undefined;
}
