import type { Entry } from "@raftkit/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { encodeValue } from "../src/codec.js";
import type { CommandPayload } from "../src/commandLog.js";
import type { CommandRunner } from "../src/machineNode.js";
import { ReplicatedMachine } from "../src/replicatedMachine.js";
import { counter } from "./counterMachine.js";
import { LocalCluster, useFakeTime } from "./localCluster.js";

const TTL = 1_000;

/** A session id stamped with its creation time, as CommandRunner and createClient make them. */
const stamped = (created: number, k: number): string =>
  `rk1-${created.toString(36)}-${k.toString(16).padStart(24, "0")}`;

let index = 0;
function entry(session: string, seq: number, lowest: number, at: number, by = 1): Entry {
  const payload: CommandPayload = { name: "add", arg: by, session, seq, lowest, at };
  return { index: ++index, term: 1, type: "normal", data: encodeValue(payload, "a test command") };
}

describe("an expired session (Raft thesis §6.3)", () => {
  it("answers a retried command with SESSION_EXPIRED instead of running it again", () => {
    const m = new ReplicatedMachine(counter, TTL);
    const a = stamped(0, 1);
    const b = stamped(5_000, 2);
    expect(m.applyNow([entry(a, 1, 1, 0, 5)])[0]!.result).toEqual({ ok: true, value: 5 });
    // Another caller's command 5 s of log time later sweeps the idle session a.
    m.applyNow([entry(b, 1, 1, 5_000)]);
    const retried = m.applyNow([entry(a, 1, 1, 5_100, 5)])[0]!.result;
    expect(retried).toMatchObject({ ok: false, code: "SESSION_EXPIRED", name: "SessionExpiredError" });
    // The next command of the same session (it acknowledged 1) is refused the same way.
    expect(m.applyNow([entry(a, 2, 2, 5_200, 5)])[0]!.result).toMatchObject({ code: "SESSION_EXPIRED" });
    expect((m.state as { n: number }).n).toBe(6);
  });

  it("recognises an expired session from the log alone: acknowledged commands, or a creation time older than the TTL", () => {
    const m = new ReplicatedMachine(counter, TTL);
    m.applyNow([entry(stamped(8_500, 3), 1, 1, 9_000)]);
    // Never seen, but stamped long before: its first command may have run before a sweep.
    expect(m.applyNow([entry(stamped(1_000, 4), 1, 1, 9_100)])[0]!.result).toMatchObject({
      code: "SESSION_EXPIRED",
    });
    // Never seen, but it acknowledged command 1: the session existed.
    expect(m.applyNow([entry("custom-id", 2, 2, 9_200)])[0]!.result).toMatchObject({
      code: "SESSION_EXPIRED",
    });
    // A fresh session, and an unstamped id's first command, run.
    expect(m.applyNow([entry(stamped(9_000, 5), 1, 1, 9_300)])[0]!.result).toEqual({ ok: true, value: 2 });
    expect(m.applyNow([entry("custom-id-2", 1, 1, 9_400)])[0]!.result).toEqual({ ok: true, value: 3 });
  });

  it("opens a fresh stamped session whose caller gave up on its first commands before any was applied", () => {
    // Found by the stack simulation: command 1 was never applied, so command 2 carries lowest 2.
    const m = new ReplicatedMachine(counter, TTL);
    expect(m.applyNow([entry(stamped(9_000, 6), 2, 2, 9_050)])[0]!.result).toEqual({ ok: true, value: 1 });
  });
});

describe("CommandRunner with an expired session", () => {
  beforeEach(useFakeTime);
  afterEach(() => {
    vi.useRealTimers();
  });

  it("starts a new session for a new command, and surfaces SessionExpiredError for a retried one", async () => {
    const c = new LocalCluster(counter, ["a", "b", "c"], {}, { sessionTtlMs: 2_000 });
    await c.startAll();
    await c.until(() => c.leader() !== undefined);
    const node = c.leader() as ReturnType<LocalCluster<typeof counter>["node"]>;
    const runner: CommandRunner<typeof counter> = node.runner;
    expect(await c.settle(node.commands.add(1))).toBe(1);
    const before = runner.session;
    const t0 = Date.now();
    await c.until(() => Date.now() > t0 + 5_000, 10_000);
    // Another caller's command sweeps the idle session.
    const other = stamped(Date.now(), 6);
    expect(await c.settle(runner.runSequenced("add", 10, other, 1, () => 1))).toBe(11);
    // A new command: the runner's session expired, so it runs under a new one.
    expect(await c.settle(node.commands.add(100))).toBe(111);
    expect(runner.session).not.toBe(before);
    // A retry of the old session's command 1 is never run again.
    await expect(c.settle(runner.runSequenced("add", 1, before, 1, () => 1))).rejects.toMatchObject({
      name: "SessionExpiredError",
      code: "SESSION_EXPIRED",
    });
    expect(await c.settle(node.query.value())).toBe(111);
    await c.stopAll();
  });
});
