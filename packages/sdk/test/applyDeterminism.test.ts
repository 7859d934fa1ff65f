import type { Entry } from "@raftkit/core";
import { describe, expect, it } from "vitest";
import { encodeValue } from "../src/codec.js";
import type { CommandOutcome, CommandPayload } from "../src/commandLog.js";
import { defineMachine } from "../src/defineMachine.js";
import { ReplicatedMachine } from "../src/replicatedMachine.js";

const TTL = 1_000;

const ledger = defineMachine({
  initial: () => ({ n: 0, log: [] as number[] }),
  commands: {
    add(s, by: number) {
      if (by % 7 === 0) throw new RangeError(`no multiples of 7 (${by})`);
      s.n += by;
      s.log.push(by);
      return s.n;
    },
  },
  queries: { value: (s) => s.n },
});

/** mulberry32: the same list of entries for a seed, on every run. */
function random(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** A session id as CommandRunner and createClient make them: stamped with its creation time. */
const stamped = (created: number, k: number): string =>
  `rk1-${created.toString(36)}-${k.toString(16).padStart(24, "0")}`;

/**
 * A random log of commands from callers that retry (repeat a seq, with a stale or a newer
 * `lowest`), acknowledge (raise `lowest`), go idle past the TTL and come back, and start
 * new sessions, some of them with unstamped ids.
 */
function randomLog(seed: number): Entry[] {
  const r = random(seed);
  type Caller = { id: string; next: number; lowest: number };
  const callers: Caller[] = [];
  const entries: Entry[] = [];
  let time = 1_000;
  for (let index = 1; index <= 40; index++) {
    time += r(10) === 0 ? TTL + r(2 * TTL) : r(400);
    if (callers.length === 0 || r(6) === 0) {
      const id = r(4) === 0 ? `legacy-${index}` : stamped(Math.max(0, time - r(3 * TTL)), seed * 100 + index);
      callers.push({ id, next: 1, lowest: 1 });
    }
    const c = callers[r(callers.length)]!;
    let seq: number;
    if (c.next > c.lowest && r(3) === 0) seq = c.lowest + r(c.next - c.lowest);
    else if (c.next > 1 && r(12) === 0) seq = 1 + r(c.next - 1);
    else seq = c.next++;
    if (r(3) === 0) c.lowest = Math.min(c.next, c.lowest + 1 + r(2));
    const lowest = r(4) === 0 ? 1 + r(c.lowest) : c.lowest;
    const payload: CommandPayload = { name: "add", arg: 1 + r(20), session: c.id, seq, lowest, at: time };
    entries.push({ index, term: 1, type: "normal", data: encodeValue(payload, "a test command") });
  }
  return entries;
}

/** Everything that must match across replicas: state, session table, log time, members, results. */
function canonical(m: ReplicatedMachine<typeof ledger>, outcomes: CommandOutcome[]): string {
  const snapshot = new TextDecoder().decode(m.snapshotNow());
  const results = outcomes.map((o) => ({ index: o.index, result: o.result, time: o.time.getTime() }));
  return JSON.stringify({ snapshot, results });
}

/** Applies `entries` split at `cuts`; at each cut in `restoreAt`, continues on a fresh machine restored from a snapshot. */
function applySplit(entries: Entry[], cuts: number[], restoreAt: Set<number> = new Set()): string {
  let m = new ReplicatedMachine(ledger, TTL);
  const outcomes: CommandOutcome[] = [];
  let from = 0;
  for (const cut of [...cuts, entries.length]) {
    outcomes.push(...m.applyNow(entries.slice(from, cut)));
    if (restoreAt.has(cut)) {
      const next = new ReplicatedMachine(ledger, TTL);
      next.restoreNow(m.snapshotNow());
      m = next;
    }
    from = cut;
  }
  return canonical(m, outcomes);
}

function randomCuts(r: (n: number) => number, length: number): number[] {
  const cuts: number[] = [];
  for (let i = 1; i < length; i++) if (r(4) === 0) cuts.push(i);
  return cuts;
}

describe("applying a log (Raft thesis §6.3 sessions)", () => {
  it("gives the same state, session table and results in one batch, one at a time, in any split, and across snapshot/restore", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const entries = randomLog(seed);
      const all = entries.map((_, i) => i + 1).slice(0, -1);
      const oneAtATime = applySplit(entries, all);
      const where = `seed ${seed}`;
      expect(applySplit(entries, []), `${where}: one batch`).toBe(oneAtATime);
      const r = random(seed * 7919);
      for (let k = 0; k < 3; k++) {
        const cuts = randomCuts(r, entries.length);
        expect(applySplit(entries, cuts), `${where}: split at ${cuts}`).toBe(oneAtATime);
        const restoreAt = new Set(cuts.filter(() => r(2) === 0));
        expect(
          applySplit(entries, cuts, restoreAt),
          `${where}: split at ${cuts}, restored at ${[...restoreAt]}`,
        ).toBe(oneAtATime);
      }
      expect(applySplit(entries, all, new Set(all)), `${where}: restored after every entry`).toBe(oneAtATime);
    }
  }, 60_000); // 300 seeded logs, each applied five ways: CPU-bound, slow on a loaded machine
});
