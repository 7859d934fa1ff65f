/**
 * Runs the deterministic cluster simulation from the command line.
 *
 *   pnpm sim --seeds 100000 [--from K] [--keep-going]   seeds K..K+N-1 (K defaults to 1)
 *   pnpm sim --seed N [--verbose] [--history FILE]      one seed, replayed exactly
 *
 * Other flags: --duration MS (simulated ms of faults and load per seed, default 3000),
 * --profile NAME (vary the drawn configuration, see PROFILES: churn, calm, crashy, idle),
 * --bug NAME (break the harness on purpose, to see a failure; see SimBugs), --skip-check
 * votes|confModel|membership (leave a check out, to see another catch the bug alone).
 * Exits 1 on the first failing seed (with --keep-going: after all seeds, if any failed),
 * printing the violation, the last trace lines and the command that replays it.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { historyToJsonLines } from "../../src/history/index.js";
import { CONF_KINDS } from "./membership.js";
import { describeRunConfig, PROFILES, type ProfileName } from "./runConfig.js";
import {
  confKindStat,
  emptyStats,
  type SimBugs,
  type SimOptions,
  type SimResult,
  type SimStats,
  simulate,
} from "./simulate.js";

const BUGS = [
  "forgetVote",
  "loseTail",
  "staleReads",
  "collidingReadContexts",
  "divergentConfChange",
  "wrongConfChange",
  "learnerSelfPromotes",
  "learnerCounted",
  "removedStays",
  "loseConfState",
  "staleSnapshotConf",
] as const;
const CHECKS = ["votes", "confModel", "membership"] as const;

function main(): number {
  const { values } = parseArgs({
    options: {
      seeds: { type: "string" },
      seed: { type: "string" },
      from: { type: "string" },
      verbose: { type: "boolean", short: "v", default: false },
      history: { type: "string" },
      duration: { type: "string" },
      bug: { type: "string", multiple: true },
      "skip-check": { type: "string", multiple: true },
      profile: { type: "string" },
      "keep-going": { type: "boolean", default: false },
      "trace-lines": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      "usage: pnpm sim --seeds N [--from K] [--keep-going] | --seed N [--verbose] [--history FILE]\n" +
        `       [--duration MS] [--profile ${Object.keys(PROFILES).join("|")}] [--bug ${BUGS.join("|")}]\n` +
        `       [--skip-check ${CHECKS.join("|")}] [--trace-lines N]`,
    );
    return 0;
  }
  const options: SimOptions = {};
  if (values.duration !== undefined) options.duration = int(values.duration, "--duration");
  if (values.profile !== undefined) {
    if (!Object.hasOwn(PROFILES, values.profile)) {
      throw new Error(`--profile must be one of ${Object.keys(PROFILES).join(", ")}`);
    }
    options.overrides = PROFILES[values.profile as ProfileName];
  }
  const bugs: SimBugs = {};
  for (const b of values.bug ?? []) {
    if (!(BUGS as readonly string[]).includes(b)) throw new Error(`--bug must be one of ${BUGS.join(", ")}`);
    bugs[b as (typeof BUGS)[number]] = true;
  }
  if (Object.keys(bugs).length > 0) options.bugs = bugs;
  for (const c of values["skip-check"] ?? []) {
    if (c === "votes") options.checkVotes = false;
    else if (c === "confModel") options.checkConfModel = false;
    else if (c === "membership") options.checkMembership = false;
    else throw new Error(`--skip-check must be one of ${CHECKS.join(", ")}`);
  }
  const traceLines = values["trace-lines"] === undefined ? 60 : int(values["trace-lines"], "--trace-lines");
  const extra = [
    values.duration === undefined ? "" : ` --duration ${values.duration}`,
    values.profile === undefined ? "" : ` --profile ${values.profile}`,
    ...(values.bug ?? []).map((b) => ` --bug ${b}`),
    ...(values["skip-check"] ?? []).map((c) => ` --skip-check ${c}`),
  ].join("");

  if (values.seed !== undefined) {
    const seed = int(values.seed, "--seed");
    if (values.verbose) options.onTrace = (line) => console.log(line);
    const r = simulate(seed, options);
    if (values.history !== undefined) {
      writeFileSync(values.history, historyToJsonLines(r.history));
      console.log(`history of seed ${seed} (${r.history.length} operations) written to ${values.history}`);
    }
    if (r.ok) {
      console.log(`seed ${seed}: ok — ${describeRunConfig(r.config)}`);
      console.log(formatStats(r.stats));
      return 0;
    }
    report(r, values.verbose ? 0 : traceLines, extra);
    return 1;
  }

  const count = values.seeds === undefined ? 100 : int(values.seeds, "--seeds");
  const from = values.from === undefined ? 1 : int(values.from, "--from");
  const total = emptyStats();
  const failed: number[] = [];
  const started = performance.now();
  let lastReport = started;
  let done = 0;
  for (let seed = from; seed < from + count; seed++) {
    const r = simulate(seed, options);
    done++;
    add(total, r.stats);
    if (!r.ok) {
      failed.push(seed);
      report(r, traceLines, extra);
      if (!values["keep-going"]) break;
    }
    const now = performance.now();
    if (now - lastReport > 2000) {
      lastReport = now;
      console.log(
        `  ${done}/${count} seeds (up to ${seed}), ${rate(done, now - started)} seeds/s, ${failed.length} failed`,
      );
    }
  }
  const elapsed = performance.now() - started;
  console.log(
    `${done} seeds (${from}..${from + done - 1}) in ${(elapsed / 1000).toFixed(1)}s: ${rate(done, elapsed)} seeds/s, ` +
      `${failed.length === 0 ? "all passed" : `${failed.length} FAILED: ${failed.join(" ")}`}`,
  );
  console.log(formatStats(total));
  return failed.length === 0 ? 0 : 1;
}

function report(r: Extract<SimResult, { ok: false }>, lines: number, extra: string): void {
  console.log(`\nFAILED seed ${r.seed}: ${r.violation}`);
  console.log(`config: ${describeRunConfig(r.config)}`);
  if (lines > 0) {
    console.log(`--- last ${Math.min(lines, r.trace.length)} trace lines ---`);
    console.log(r.trace.slice(-lines).join("\n"));
    console.log("---");
  }
  console.log(`replay: pnpm sim --seed ${r.seed} --verbose${extra}\n`);
}

function add(total: SimStats, s: SimStats): void {
  for (const k of Object.keys(total) as Array<keyof SimStats>)
    total[k] += k === "livenessMs" ? Math.max(0, s[k]) : s[k];
}

function formatStats(s: SimStats): string {
  return [
    `  simulated ${(s.simTime / 1000).toFixed(1)}s, ${s.events} events, ${s.elections} elections, ${s.committed} entries committed`,
    `  clients: ${s.writesAcked} writes acked, ${s.readsServed} reads served, ${s.unknownOps} unknown, ${s.refusedOps} refused`,
    `  faults: ${s.crashes} crashes, ${s.pauses} pauses, ${s.partitions} partitions, ${s.transfers} leadership transfers, ` +
      `${s.messagesLost} lost / ${s.messagesCut} cut / ${s.messagesDuplicated} duplicated of ${s.messages} messages`,
    `  snapshots: ${s.compactions} taken, ${s.snapshotsSent} sent, ${s.snapshotsInstalled} installed ` +
      `(${s.confSnapshots} with a changed membership)`,
    `  membership: ${s.confProposed} changes proposed, ${s.confRefused} refused, ${s.confCommitted} committed` +
      `${s.confInvalid > 0 ? ` (${s.confInvalid} INVALID)` : ""}; ${s.jointEntered} joint configs entered, ` +
      `${s.jointLeft} left; ${s.nodesSpawned} nodes started, ${s.nodesAdded} added, ${s.nodesRemoved} removed; ` +
      `${s.confRestarts} restarts after a change`,
    `  committed by kind: ${CONF_KINDS.map((k) => `${k} ${s[confKindStat(k)]}`).join(", ")}`,
  ].join("\n");
}

function rate(n: number, ms: number): string {
  return ms > 0 ? ((n * 1000) / ms).toFixed(1) : "-";
}

function int(s: string, flag: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`${flag} needs a non-negative integer, got ${JSON.stringify(s)}`);
  return n;
}

try {
  process.exitCode = main();
} catch (e) {
  console.error((e as Error).message);
  process.exitCode = 2;
}
