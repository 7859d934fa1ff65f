import { describe, expect, it } from "vitest";
import { checkSessionGuarantees, type SessionEvent, WriteOrder } from "./sessionGuarantees.js";

/** x=1 at index 10, x=2 at 20, x=3 at 30; y=5 at 15. */
function order(): WriteOrder {
  const o = new WriteOrder();
  o.record("x", 1, 10);
  o.record("x", 2, 20);
  o.record("x", 3, 30);
  o.record("y", 5, 15);
  return o;
}

/** Events made with these helpers run one after another: each is sent after the previous one was answered. */
let clock = 0;
const next = () => {
  clock += 2;
  return { call: clock - 1, return: clock };
};
const read = (client: number, key: string, output: number | null, session = true): SessionEvent => ({
  client,
  op: "read",
  key,
  output,
  session,
  ...next(),
});
const write = (client: number, key: string, value: number): SessionEvent => ({
  client,
  op: "write",
  key,
  value,
  ...next(),
});

describe("checkSessionGuarantees", () => {
  it("accepts reads that observe the client's own write or a later one, and never go back", () => {
    const r = checkSessionGuarantees(
      [write(0, "x", 2), read(0, "x", 2), read(0, "x", 3), read(0, "x", 3), read(0, "y", null)],
      order(),
    );
    expect(r).toEqual({ ok: true, reads: 4 });
  });

  it("accepts another client reading an older version: the guarantees are per client", () => {
    expect(checkSessionGuarantees([write(0, "x", 3), read(1, "x", 1)], order()).ok).toBe(true);
  });

  it("refuses a read that misses the client's own acknowledged write (read-your-writes)", () => {
    const r = checkSessionGuarantees([write(0, "x", 2), read(0, "x", 1)], order());
    expect(r).toEqual({
      ok: false,
      reason: "read-your-writes: client 0 read x=1 (index 10) after its own write x=2 (index 20)",
    });
  });

  it("refuses a read of a key never written after the client wrote it", () => {
    const r = checkSessionGuarantees([write(3, "y", 5), read(3, "y", null)], order());
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/^read-your-writes: client 3 read y=null/);
  });

  it("refuses a read that goes back behind an earlier read (monotonic reads), a linearizable one included", () => {
    const afterSession = checkSessionGuarantees([read(0, "x", 3), read(0, "x", 2)], order());
    expect(afterSession.ok).toBe(false);
    if (!afterSession.ok) expect(afterSession.reason).toMatch(/^monotonic reads: client 0 read x=2/);
    const afterLinearizable = checkSessionGuarantees([read(0, "x", 3, false), read(0, "x", 1)], order());
    expect(afterLinearizable.ok).toBe(false);
  });

  it("holds a read only to what was answered before it was sent (a client's operations may overlap)", () => {
    // Found by seed 300245: the final write of client 0 ran beside its last read.
    const w = write(0, "x", 2);
    const overlapping = { ...read(0, "x", 1), call: w.call, return: w.return + 5 };
    expect(checkSessionGuarantees([w, overlapping], order()).ok).toBe(true);
    const after = { ...read(0, "x", 1), call: w.return, return: w.return + 5 };
    const r = checkSessionGuarantees([w, after], order());
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/^read-your-writes: client 0 read x=1/);
  });

  it("skips what the log does not place (a value no applied entry wrote)", () => {
    expect(checkSessionGuarantees([write(0, "x", 99), read(0, "x", 1)], order()).ok).toBe(true);
  });
});
