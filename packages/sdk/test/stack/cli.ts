/**
 * Runs the whole-stack simulation from the command line (through `pnpm sim --stack`):
 *
 *   pnpm sim --stack --seeds N [--from K] [--keep-going]   seeds K..K+N-1 (K defaults to 1)
 *   pnpm sim --stack --seed N [--verbose] [--history FILE]  one seed, replayed exactly
 *
 * Other flags: --duration MS (simulated ms of faults and load, default 3000), --bug NAME
 * (a broken variant, to see a check catch it), --without KIND (leave a fault kind out, to
 * look past a bug it finds first), --trace-lines N. Exits 1 on the first failing
 * seed (with --keep-going: after all seeds), printing the violation, the last trace lines and
 * the command that replays it.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { historyToJsonLines } from "@raftkit/core/history";
import {
  STACK_BUGS,
  type StackBugs,
  type StackOptions,
  type StackResult,
  simulateStack,
} from "./simulateStack.js";
import { describeStackConfig, FAULT_KINDS, type FaultKind } from "./stackConfig.js";

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      stack: { type: "boolean", default: true },
      seeds: { type: "string" },
      seed: { type: "string" },
      from: { type: "string" },
      verbose: { type: "boolean", short: "v", default: false },
      history: { type: "string" },
      duration: { type: "string" },
      bug: { type: "string", multiple: true },
      without: { type: "string", multiple: true },
      "keep-going": { type: "boolean", default: false },
      "trace-lines": { type: "string" },
      sorted: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      "usage: pnpm sim --stack --seeds N [--from K] [--keep-going] | --stack --seed N [--verbose] [--history FILE]\n" +
        `       [--duration MS] [--bug ${STACK_BUGS.join("|")}] [--without ${FAULT_KINDS.join("|")}] [--trace-lines N] [--sorted]`,
    );
    return 0;
  }
  const options: StackOptions = {};
  if (values.duration !== undefined) options.duration = int(values.duration, "--duration");
  const bugs: StackBugs = {};
  for (const b of values.bug ?? []) {
    if (!(STACK_BUGS as readonly string[]).includes(b))
      throw new Error(`--bug must be one of ${STACK_BUGS.join(", ")}`);
    bugs[b as (typeof STACK_BUGS)[number]] = true;
  }
  options.bugs = bugs;
  const without: FaultKind[] = [];
  for (const w of values.without ?? []) {
    if (!(FAULT_KINDS as readonly string[]).includes(w))
      throw new Error(`--without must be one of ${FAULT_KINDS.join(", ")}`);
    without.push(w as FaultKind);
  }
  options.without = without;
  if (values.sorted) options.overrides = { sortedState: true };
  const traceLines = values["trace-lines"] === undefined ? 40 : int(values["trace-lines"], "--trace-lines");
  options.traceLines = Math.max(traceLines, 1);
  const extra = [
    values.duration === undefined ? "" : ` --duration ${values.duration}`,
    ...(values.bug ?? []).map((b) => ` --bug ${b}`),
    ...without.map((w) => ` --without ${w}`),
    values.sorted ? " --sorted" : "",
  ].join("");

  if (values.seed !== undefined) {
    const seed = int(values.seed, "--seed");
    if (values.verbose) options.onTrace = (line) => console.log(line);
    const r = await simulateStack(seed, options);
    if (values.history !== undefined) {
      writeFileSync(values.history, historyToJsonLines(r.history));
      console.log(`history of seed ${seed} (${r.history.length} operations) written to ${values.history}`);
    }
    if (r.ok) {
      console.log(`seed ${seed}: ok — ${describeStackConfig(r.config)}`);
      console.log(formatStats(r.stats));
      return 0;
    }
    report(r, values.verbose ? 0 : traceLines, extra);
    return 1;
  }

  const count = values.seeds === undefined ? 100 : int(values.seeds, "--seeds");
  const from = values.from === undefined ? 1 : int(values.from, "--from");
  const failed: number[] = [];
  const started = performance.now();
  let lastReport = started;
  for (let seed = from; seed < from + count; seed++) {
    const r = await simulateStack(seed, options);
    if (!r.ok) {
      report(r, traceLines, extra);
      failed.push(seed);
      if (!values["keep-going"]) return 1;
    }
    const now = performance.now();
    if (now - lastReport > 10_000) {
      lastReport = now;
      const done = seed - from + 1;
      console.log(
        `${done}/${count} seeds, ${(done / ((now - started) / 1000)).toFixed(1)} seeds/s, ${failed.length} failed`,
      );
    }
  }
  const secs = (performance.now() - started) / 1000;
  console.log(
    `${count} seeds from ${from} in ${secs.toFixed(1)} s (${(count / secs).toFixed(1)} seeds/s): ` +
      (failed.length === 0 ? "all ok" : `${failed.length} failed: ${failed.join(", ")}`),
  );
  return failed.length === 0 ? 0 : 1;
}

function report(r: Extract<StackResult, { ok: false }>, traceLines: number, extra: string): void {
  console.log(`seed ${r.seed} FAILED — ${describeStackConfig(r.config)}`);
  console.log(`violation: ${r.violation}`);
  if (traceLines > 0) {
    console.log(`last ${Math.min(traceLines, r.trace.length)} trace lines:`);
    for (const line of r.trace.slice(-traceLines)) console.log(`  ${line}`);
  }
  console.log(`replay: pnpm sim --stack --seed ${r.seed}${extra} --verbose`);
}

function formatStats(s: StackResult["stats"]): string {
  return Object.entries(s)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

function int(s: string, flag: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, got ${s}`);
  return n;
}

process.exitCode = await main(process.argv.slice(2));
