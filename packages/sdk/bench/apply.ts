/**
 * `pnpm bench apply`: the cost of applying commands in one process, without Raft — what
 * the reducer rules add per command. Runs the key-value machine's `put` through runBatch on a
 * state of 10, 1,000 and 100,000 keys, in batches of 1 and 64 commands, four ways: bare; with the
 * state-change check (assertChangesEncodable after each reducer); with the determinism guards
 * around each batch; with both (what ReplicatedMachine does). Env: BENCH_SECONDS per case (default 1).
 */
import { enableMapSet, freeze } from "immer";
import { withDeterminismGuards } from "../src/determinismGuards.js";
import { type BatchStep, runBatch } from "../src/runBatch.js";
import { assertChangesEncodable } from "../src/stateChanges.js";

enableMapSet();
const seconds = Number(process.env.BENCH_SECONDS ?? 1);
type State = { data: Map<string, string> };
const value = "v".repeat(64);

function stateOf(keys: number): State {
  const data = new Map<string, string>();
  for (let i = 0; i < keys; i++) data.set(`k${i}`, value);
  return freeze({ data }, true);
}

/** `n` puts that overwrite existing keys with new values: the state keeps its size. */
function steps(n: number, check: boolean, seed: number, keys: number): BatchStep[] {
  return Array.from({ length: n }, (_, i) => ({
    run(draft: unknown) {
      (draft as State).data.set(`k${(seed * 7919 + i * 104729) % keys}`, `${value}${seed + i}`);
      if (check) assertChangesEncodable(draft, "put");
    },
  }));
}

/** Microseconds per command, median of 5 rounds. */
function measure(keys: number, batch: number, check: boolean, guard: boolean): number {
  let state: unknown = stateOf(keys);
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    let commands = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < (seconds * 1000) / 5) {
      const s = steps(batch, check, commands, keys);
      const run = () => runBatch(state, s);
      state = (guard ? withDeterminismGuards(run) : run()).state;
      commands += batch;
    }
    rounds.push(((performance.now() - t0) * 1000) / commands);
  }
  return rounds.sort((a, b) => a - b)[2]!;
}

const rows: string[][] = [["keys", "batch", "bare µs/cmd", "+check", "+guards", "+both", "both/bare"]];
for (const keys of [10, 1_000, 100_000]) {
  for (const batch of [1, 64]) {
    const bare = measure(keys, batch, false, false);
    const check = measure(keys, batch, true, false);
    const guard = measure(keys, batch, false, true);
    const both = measure(keys, batch, true, true);
    rows.push([
      String(keys),
      String(batch),
      bare.toFixed(2),
      check.toFixed(2),
      guard.toFixed(2),
      both.toFixed(2),
      `${(((both - bare) / bare) * 100).toFixed(1)}%`,
    ]);
  }
}
const guardOnly = (() => {
  const n = 200_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) withDeterminismGuards(() => i);
  return ((performance.now() - t0) * 1000) / n;
})();
/** What the state-change check costs per command in a batch of 64 puts into a 100,000-key Map: the checks alone. */
const checkOnly = (() => {
  const state = stateOf(100_000);
  let spent = 0;
  let commands = 0;
  for (let round = 0; round < 50; round++) {
    runBatch(state, [
      {
        run(draft) {
          for (let i = 0; i < 64; i++) {
            (draft as State).data.set(`n${round}-${i}`, value);
            const t0 = performance.now();
            assertChangesEncodable(draft, "put");
            spent += performance.now() - t0;
            commands++;
          }
        },
      },
    ]);
  }
  return (spent * 1000) / commands;
})();
console.log(`apply bench (node ${process.version}, ${seconds}s per case)`);
for (const r of rows) console.log(r.map((c) => c.padStart(13)).join(""));
console.log(`guards alone (install + restore, once per batch): ${guardOnly.toFixed(2)} µs`);
console.log(
  `state-change check alone, per command in a batch of 64 (100,000-key Map): ${checkOnly.toFixed(2)} µs`,
);
