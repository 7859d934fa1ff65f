import { describe, expect, it } from "vitest";
import { SessionTable } from "../src/session.js";

describe("SessionTable", () => {
  it("answers a repeated command with its first result and forgets what the caller acknowledged", () => {
    const t = new SessionTable(60_000);
    expect(t.check("s", 1, 1, 0)).toEqual({ kind: "new" });
    t.record("s", 1, { ok: true, value: 10 });
    expect(t.check("s", 1, 1, 5)).toEqual({ kind: "duplicate", result: { ok: true, value: 10 } });
    expect(t.check("s", 2, 2, 6)).toEqual({ kind: "new" });
    t.record("s", 2, { ok: true, value: 11 });
    // The caller says everything below 2 was answered: 1 is forgotten, not re-run.
    expect(t.check("s", 1, 2, 7)).toEqual({ kind: "forgotten" });
  });

  it("expires idle sessions by log time, the same way on every node", () => {
    const a = new SessionTable(1_000);
    const b = new SessionTable(1_000);
    for (const t of [a, b]) {
      t.check("old", 1, 1, 0);
      t.record("old", 1, { ok: true, value: 1 });
      t.check("busy", 1, 1, 900);
      t.record("busy", 1, { ok: true, value: 2 });
      // 1,500 ms of log time later: "old" has been idle for longer than the TTL.
      t.check("busy", 2, 1, 1_500);
    }
    expect([...a.sessions.keys()]).toEqual(["busy"]);
    expect([...b.sessions.keys()]).toEqual([...a.sessions.keys()]);
    // An expired session's command runs again (the caller waited longer than the TTL).
    expect(a.check("old", 1, 1, 1_600)).toEqual({ kind: "new" });
  });
});
