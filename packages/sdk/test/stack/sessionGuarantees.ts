/**
 * The session guarantees that `consistency: "session"` reads promise each client (Terry et
 * al., "Session Guarantees for Weakly Consistent Replicated Data", 1994): read-your-writes
 * (a read observes at least the client's last acknowledged write to that key) and monotonic
 * reads (a read never observes an older version of a key than an earlier read of the same
 * client). Session reads are not linearizable, so they are checked here and not by the
 * linearizability checker.
 *
 * Versions are ordered by the log: {@link WriteOrder} records at which index each value of a
 * key was written (values are unique per write, as the stack clients make them).
 */

/** One observation of a client, in that client's order (clients are sequential). */
export type SessionEvent =
  /** A write acknowledged to the client that set `key` to `value` (a put, or a cas that succeeded). */
  | { client: number; op: "write"; key: string; value: number }
  /** A read that answered `output` (null: the key was never written). `session` says whether it was a session read. */
  | { client: number; op: "read"; key: string; output: number | null; session: boolean };

/** The log index at which each value of each key was written, from the applied log. */
export class WriteOrder {
  readonly #at = new Map<string, Map<number, number>>();

  /** `key` was set to `value` by the entry at `index`. */
  record(key: string, value: number, index: number): void {
    let m = this.#at.get(key);
    if (!m) {
      m = new Map();
      this.#at.set(key, m);
    }
    m.set(value, index);
  }

  /** Where `value` of `key` stands in the log: 0 for never written (null), undefined if unknown. */
  position(key: string, value: number | null): number | undefined {
    return value === null ? 0 : this.#at.get(key)?.get(value);
  }
}

export type SessionCheck = { ok: true; reads: number } | { ok: false; reason: string };

/**
 * Checks read-your-writes and monotonic reads for every client's session reads. A write whose
 * value the log does not hold, or a read of such a value, cannot be placed and is skipped.
 */
export function checkSessionGuarantees(events: readonly SessionEvent[], order: WriteOrder): SessionCheck {
  /** Per client and key: the lowest version a read may observe, and why. */
  const floors = new Map<string, { at: number; why: string }>();
  let reads = 0;
  for (const e of events) {
    const k = `${e.client}/${e.key}`;
    const pos = order.position(e.key, e.op === "write" ? e.value : e.output);
    if (pos === undefined) continue;
    const floor = floors.get(k);
    if (e.op === "write") {
      if (!floor || pos > floor.at)
        floors.set(k, { at: pos, why: `its own write ${e.key}=${e.value} (index ${pos})` });
      continue;
    }
    if (e.session) {
      reads++;
      if (floor && pos < floor.at) {
        const guarantee = floor.why.startsWith("its own write") ? "read-your-writes" : "monotonic reads";
        return {
          ok: false,
          reason: `${guarantee}: client ${e.client} read ${e.key}=${e.output} (index ${pos}) after ${floor.why}`,
        };
      }
    }
    if (!floor || pos > floor.at)
      floors.set(k, { at: pos, why: `an earlier read of ${e.key}=${e.output} (index ${pos})` });
  }
  return { ok: true, reads };
}
