import { describe, expect, it } from "vitest";
import { type Dedup, type SessionRecord, SessionTable } from "../src/session.js";

/** The record a "new" answer carries, for `record`. */
function opened(d: Dedup): SessionRecord {
  if (d.kind !== "new") throw new Error(`expected a new command, got ${d.kind}`);
  return d.record;
}

describe("SessionTable", () => {
  it("answers a repeated command with its first result and forgets what the caller acknowledged", () => {
    const t = new SessionTable(60_000);
    t.record("s", opened(t.check("s", 1, 1, 0)), 1, { ok: true, value: 10 });
    expect(t.check("s", 1, 1, 5)).toEqual({ kind: "duplicate", result: { ok: true, value: 10 } });
    t.record("s", opened(t.check("s", 2, 2, 6)), 2, { ok: true, value: 11 });
    // The caller says everything below 2 was answered: 1 is forgotten, not re-run.
    expect(t.check("s", 1, 2, 7)).toEqual({ kind: "forgotten" });
  });

  it("expires idle sessions by log time, the same way on every node, and refuses their commands", () => {
    const a = new SessionTable(1_000);
    const b = new SessionTable(1_000);
    for (const t of [a, b]) {
      t.record("old", opened(t.check("old", 1, 1, 0)), 1, { ok: true, value: 1 });
      t.record("busy", opened(t.check("busy", 1, 1, 900)), 1, { ok: true, value: 2 });
      // 1,500 ms of log time later: "old" has been idle for longer than the TTL.
      t.check("busy", 2, 1, 1_500);
    }
    expect([...a.sessions.keys()]).toEqual(["busy"]);
    expect([...b.sessions.keys()]).toEqual([...a.sessions.keys()]);
    // The caller had acknowledged command 1: the session existed, so its commands are refused.
    expect(a.check("old", 2, 2, 1_600)).toEqual({ kind: "expired" });
    expect(a.sessions.has("old")).toBe(false);
  });

  it("does not store a result that a later command's acknowledgement or a sweep dropped first", () => {
    const t = new SessionTable(1_000);
    const rec = opened(t.check("s", 1, 1, 0));
    t.check("s", 2, 2, 10);
    t.record("s", rec, 1, { ok: true, value: 1 });
    expect(t.sessions.get("s")!.results.has(1)).toBe(false);
  });
});
