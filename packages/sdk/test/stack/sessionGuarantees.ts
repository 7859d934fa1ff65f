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

/**
 * One acknowledged operation of a client, with when it was sent (`call`) and answered
 * (`return`). A client may have several at once (the stack's final write runs beside client
 * 0's last operation): a guarantee covers only what was answered before a read was sent.
 */
export type SessionEvent =
  /** A write acknowledged to the client that set `key` to `value` (a put, or a cas that succeeded). */
  | { client: number; op: "write"; key: string; value: number; call: number; return: number }
  /** A read that answered `output` (null: the key was never written). `session` says whether it was a session read. */
  | {
      client: number;
      op: "read";
      key: string;
      output: number | null;
      session: boolean;
      call: number;
      return: number;
    };

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
 * Checks read-your-writes and monotonic reads for every client's session reads: a session read
 * must observe at least what the same client's writes and reads answered before it was sent.
 * A write whose value the log does not hold, or a read of such a value, cannot be placed and is
 * skipped.
 */
export function checkSessionGuarantees(events: readonly SessionEvent[], order: WriteOrder): SessionCheck {
  // Each event answers (raising its client's floor for the key) at `return`; each session read
  // is checked against the floor at its `call`. At equal times the answer comes first: a client
  // may send its next operation in the same instant.
  type Point = { at: number; answer: boolean; e: SessionEvent; pos: number };
  const points: Point[] = [];
  for (const e of events) {
    const pos = order.position(e.key, e.op === "write" ? e.value : e.output);
    if (pos === undefined) continue;
    points.push({ at: e.return, answer: true, e, pos });
    if (e.op === "read" && e.session) points.push({ at: e.call, answer: false, e, pos });
  }
  points.sort((a, b) => a.at - b.at || Number(b.answer) - Number(a.answer));
  /** Per client and key: the lowest version a read may observe, and why. */
  const floors = new Map<string, { at: number; why: string }>();
  let reads = 0;
  for (const { answer, e, pos } of points) {
    const k = `${e.client}/${e.key}`;
    const floor = floors.get(k);
    if (!answer) {
      if (e.op !== "read") continue;
      reads++;
      if (floor && pos < floor.at) {
        const guarantee = floor.why.startsWith("its own write") ? "read-your-writes" : "monotonic reads";
        return {
          ok: false,
          reason: `${guarantee}: client ${e.client} read ${e.key}=${e.output} (index ${pos}) after ${floor.why}`,
        };
      }
      continue;
    }
    if (floor && pos <= floor.at) continue;
    floors.set(
      k,
      e.op === "write"
        ? { at: pos, why: `its own write ${e.key}=${e.value} (index ${pos})` }
        : { at: pos, why: `an earlier read of ${e.key}=${e.output} (index ${pos})` },
    );
  }
  return { ok: true, reads };
}
