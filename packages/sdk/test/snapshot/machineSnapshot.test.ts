import type { Entry } from "@raftkit/core";
import { describe, expect, it, vi } from "vitest";
import { encodeValue } from "../../src/codec.js";
import { type CommandPayload, STATE_CHECK } from "../../src/commandLog.js";
import { defineMachine } from "../../src/defineMachine.js";
import { ReplicatedMachine } from "../../src/replicatedMachine.js";
import { stateHash } from "../../src/stateHash.js";
import { sameGraph } from "./values.js";

const kv = defineMachine({
  initial: () => ({ data: new Map<string, string>(), at: new Date(0), seen: new Set<bigint>() }),
  commands: {
    put(s, arg: { key: string; value: string }) {
      s.data.set(arg.key, arg.value);
      s.seen.add(BigInt(s.data.size % 16));
      return s.data.size;
    },
  },
  queries: { get: (s, key: string) => s.data.get(key) ?? null },
});

let index = 0;
/** A command of one session `s` (so later commands change that session's record in place). */
function entry(name: string, arg: unknown, seq: number, session = "s"): Entry {
  const payload: CommandPayload = { name, arg, session, seq, lowest: seq, at: ++index };
  return { index, term: 1, type: "normal", data: encodeValue(payload, "a test command") };
}

/** `n` puts of 128-byte values under new keys, in one session, 500 a batch. */
function fill(m: ReplicatedMachine<typeof kv>, n: number, from = 1): void {
  for (let start = from; start < from + n; start += 500) {
    const batch: Entry[] = [];
    for (let i = start; i < Math.min(start + 500, from + n); i++)
      batch.push(entry("put", { key: `k${i}`, value: `${i}`.padEnd(128, "v") }, i));
    m.applyNow(batch);
  }
}

const joined = (pieces: Uint8Array[]): Buffer => Buffer.concat(pieces);
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("a ReplicatedMachine's snapshot", () => {
  it("is the state as of the call, while commands keep applying between its slices", async () => {
    const m = new ReplicatedMachine(kv, 60_000);
    fill(m, 10_000);
    const expected = Buffer.from(m.snapshotNow());
    let done = false;
    const pending = m.snapshot().finally(() => {
      done = true;
    });
    // Overwrite keys and add new ones, in the same session (whose record changes in place), between slices.
    let seq = 10_001;
    let applied = 0;
    while (!done) {
      m.applyNow([
        entry("put", { key: `k${seq % 50}`, value: "changed" }, seq),
        entry("put", { key: `n${seq}`, value: "new" }, seq + 1),
      ]);
      seq += 2;
      applied++;
      await nextTurn();
    }
    expect(applied).toBeGreaterThan(1);
    expect(joined(await pending).equals(expected)).toBe(true);
    expect(Buffer.from(m.snapshotNow()).equals(expected)).toBe(false);
  });

  it("restores in slices what restoreNow restores: state (frozen), sessions, log time, version", async () => {
    const m = new ReplicatedMachine(kv, 60_000);
    fill(m, 3_000);
    const bytes = joined(await m.snapshot());
    const sliced = new ReplicatedMachine(kv, 60_000);
    const atOnce = new ReplicatedMachine(kv, 60_000);
    await sliced.restore(bytes);
    atOnce.restoreNow(bytes);
    expect(sameGraph(sliced.state, atOnce.state)).toBe(true);
    expect(Buffer.from(sliced.snapshotNow()).equals(Buffer.from(atOnce.snapshotNow()))).toBe(true);
    const state = sliced.state as { data: Map<string, string>; at: Date };
    expect(Object.isFrozen(state)).toBe(true);
    expect(() => state.data.set("x", "y")).toThrow();
    // The session table came back: a retried command answers with its first result and does not run again.
    const [retried] = sliced.applyNow([entry("put", { key: "k1", value: "again" }, 3_000)]);
    expect(retried).toMatchObject({ duplicate: true, result: { ok: true, value: 3_000 } });
  });

  it("changes nothing until the prepared restore is installed", async () => {
    const m = new ReplicatedMachine(kv, 60_000);
    fill(m, 100);
    const target = new ReplicatedMachine(kv, 60_000);
    fill(target, 5, 1_000);
    const before = Buffer.from(target.snapshotNow());
    const install = await target.prepareRestore(joined(await m.snapshot()));
    expect(Buffer.from(target.snapshotNow()).equals(before)).toBe(true);
    install();
    expect(Buffer.from(target.snapshotNow()).equals(Buffer.from(m.snapshotNow()))).toBe(true);
  });

  it("restores snapshots written before this change (superjson, no version, no sweep, members without support)", async () => {
    const old = encodeValue(
      {
        state: { data: new Map([["a", "1"]]), at: new Date(5), seen: new Set([1n]) },
        sessions: [["s", { lowest: 1, results: new Map([[1, { ok: true, value: 1 }]]), lastSeen: 3 }]],
        lastTime: 3,
        members: [["n1", { incarnation: "x", since: 1 }]],
      },
      "an old snapshot",
    );
    const sliced = new ReplicatedMachine(kv, 60_000);
    const atOnce = new ReplicatedMachine(kv, 60_000);
    await sliced.restore(old);
    atOnce.restoreNow(old);
    expect(sliced.version).toBe(1);
    expect(sliced.publishedMembers()).toEqual({ n1: { incarnation: "x", since: 1, supports: 1 } });
    expect(Buffer.from(sliced.snapshotNow()).equals(Buffer.from(atOnce.snapshotNow()))).toBe(true);
  });

  it("reports the hash of the state at a state check, as superjson's bytes hash (what older nodes report)", async () => {
    const m = new ReplicatedMachine(kv, 60_000);
    fill(m, 2_000);
    let expected = "";
    const capture = vi.spyOn(m, "snapshotValue").mockImplementation(function (
      this: ReplicatedMachine<typeof kv>,
    ) {
      const value = capture.getMockImplementation()
        ? ReplicatedMachine.prototype.snapshotValue.call(this)
        : null;
      expected = stateHash(encodeValue(value, "t"));
      return value;
    });
    const reported = new Promise<[number, string]>((resolve) => {
      m.onStateCheck = (i, hash) => resolve([i, hash]);
    });
    const check = entry(STATE_CHECK, undefined, 2_001);
    m.applyNow([check]);
    // Later commands do not reach the hash, which is computed over later turns.
    fill(m, 10, 5_000);
    expect(await reported).toEqual([check.index, expected]);
    expect(expected).not.toBe("");
  });
});
