import type { AnyMachine } from "../types.js";
import { DEFAULT_FAULTS, type FaultOptions } from "./chaosFaults.js";
import { type RunOptions, type RunResult, runSeed } from "./chaosRun.js";
import { describeOp, type HistoryOp } from "./history.js";
import { type LinearizeResult, linearize } from "./linearize.js";
import { MachineModel, NondeterministicReducerError } from "./machineModel.js";
import { operationDrawer, type Workload } from "./workload.js";

/** How {@link checkMachine} runs the machine. */
export interface CheckMachineOptions<M extends AnyMachine> {
  /** The commands and queries the simulated clients run. */
  workload: Workload<M>;
  /** The seeds to run: a list, or a count (seeds 1…n). Default 20. */
  seeds?: number | readonly number[];
  /** Cluster size. Default 3. */
  nodes?: number;
  /** Concurrent clients, each running one operation at a time. Default 3. */
  clients?: number;
  /** Operations per seed, over all clients. Default 30. */
  operations?: number;
  /** Faults to inject (all kinds by default); `false` for none. */
  faults?: FaultOptions | false;
  /** Configurations the linearizability search may visit per seed before it says "inconclusive". Default 50,000. */
  searchBudget?: number;
  /** Extra runs a failing seed may use to find fewer operations that still fail. Default 12. */
  shrinkRuns?: number;
  /** Every trace line of every run, as it happens. */
  onTrace?: (line: string) => void;
}

/** The verdict on one seed. */
export interface SeedReport {
  seed: number;
  verdict: "ok" | "inconclusive";
  operations: number;
  unknownOutcomes: number;
  simulatedMs: number;
  faults: string;
  /** Configurations the linearizability search visited. */
  explored: number;
}

/** What {@link checkMachine} found: every seed passed, though some may be inconclusive. */
export interface CheckMachineReport {
  seeds: SeedReport[];
  /** The seeds whose search ran out of budget: neither proven linearizable nor not. */
  inconclusive: number[];
}

/** A seed on which the machine failed a check; the message has the seed, a short history and how to replay it. */
export class MachineCheckError extends Error {
  readonly seed: number;
  readonly operations: number;
  readonly history: readonly HistoryOp[];
  constructor(
    seed: number,
    operations: number,
    reason: string,
    history: readonly HistoryOp[],
    trace: readonly string[],
  ) {
    super(
      `checkMachine: seed ${seed} fails with ${operations} operations: ${reason}\n\n` +
        `history (${history.length} operations, simulated ms; "unknown": the client never heard back):\n` +
        history.map((op) => `  ${describeOp(op)}`).join("\n") +
        `\n\nlast trace lines:\n${trace.map((l) => `  ${l}`).join("\n")}\n\n` +
        `replay: checkMachine(machine, { ...options, seeds: [${seed}], operations: ${operations} })`,
    );
    this.name = "MachineCheckError";
    this.seed = seed;
    this.operations = operations;
    this.history = history;
  }
}

/** One seed's verdict: a failure reason and the history to show, or a report. */
type SeedVerdict =
  | { failed: false; lin: LinearizeResult; run: RunResult }
  | { failed: true; reason: string; history: HistoryOp[]; run: RunResult };

/**
 * Runs `machine` (any {@link defineMachine} result) on a simulated cluster under faults, once
 * per seed, with clients running `options.workload`, and checks that:
 * 1. the history is linearizable against the machine itself, run one operation at a time
 *    (commands with the context of their log entry; answers compared by deep equality);
 * 2. replicas at the same applied index hold the same state;
 * 3. reducers are deterministic (each runs twice from the same state in the model).
 *
 * The cluster is the real stack: RaftNode, ReplicatedMachine, CommandRunner, FileStorage on a
 * simulated disk and the wire codec on a simulated network, all on one seeded scheduler and
 * simulated time, so a seed always gives the same run. Throws {@link MachineCheckError} for
 * the first failing seed, after shrinking it to fewer operations; resolves with a report
 * otherwise. Obligations: the workload's argument generators draw only from the random source
 * they receive, and the machine keeps defineMachine's rules (the determinism this checks).
 */
export async function checkMachine<M extends AnyMachine>(
  machine: M,
  options: CheckMachineOptions<M>,
): Promise<CheckMachineReport> {
  const seeds =
    typeof options.seeds === "number" || options.seeds === undefined
      ? Array.from({ length: options.seeds ?? 20 }, (_, i) => i + 1)
      : [...options.seeds];
  const base: RunOptions = {
    machine,
    draw: operationDrawer(options.workload),
    nodes: options.nodes ?? 3,
    clients: options.clients ?? 3,
    operations: options.operations ?? 30,
    consistency: options.workload.consistency ?? "linearizable",
    faults:
      options.faults === false
        ? {
            crashes: false,
            pauses: false,
            partitions: false,
            loss: 0,
            duplicate: 0,
            reorder: 0,
            everyMs: 1e9,
          }
        : { ...DEFAULT_FAULTS, ...options.faults },
    onTrace: options.onTrace,
  };
  const model = new MachineModel(machine);
  const budget = options.searchBudget ?? 50_000;
  const reports: SeedReport[] = [];
  for (const seed of seeds) {
    const v = await verdict(seed, base, model, budget);
    if (v.failed) throw await shrunk(seed, base, model, budget, v, options.shrinkRuns ?? 12);
    reports.push({
      seed,
      verdict: v.lin.ok === true ? "ok" : "inconclusive",
      operations: v.run.history.length,
      unknownOutcomes: v.run.history.filter((h) => "unknown" in h.outcome).length,
      simulatedMs: v.run.simulatedMs,
      faults: v.run.faults,
      explored: v.lin.explored,
    });
  }
  return {
    seeds: reports,
    inconclusive: reports.filter((r) => r.verdict === "inconclusive").map((r) => r.seed),
  };
}

async function verdict(
  seed: number,
  o: RunOptions,
  model: MachineModel,
  budget: number,
): Promise<SeedVerdict> {
  const run = await runSeed(seed, o);
  if (run.workloadError) throw run.workloadError;
  if (run.violation !== null) return { failed: true, reason: run.violation, history: run.history, run };
  let lin: LinearizeResult;
  try {
    lin = linearize(model, run.history, budget);
  } catch (e) {
    if (!(e instanceof NondeterministicReducerError)) throw e;
    return { failed: true, reason: e.message, history: run.history, run };
  }
  if (lin.ok === false) {
    const history = dropQueries(model, run.history, budget);
    const again = linearize(model, history, budget);
    const reason = again.ok === false ? again.reason : lin.reason;
    return { failed: true, reason: `not linearizable: ${reason}`, history, run };
  }
  return { failed: false, lin, run };
}

/**
 * The failing seed with as few operations as still fail: runs it again with 1, 2, 4…
 * operations, then bisects between the last passing count and the first failing one, within
 * `runs` extra runs. A run with fewer operations is the same run cut short (the clients stop
 * drawing), so what it shows happened in the original one.
 */
async function shrunk(
  seed: number,
  o: RunOptions,
  model: MachineModel,
  budget: number,
  failure: Extract<SeedVerdict, { failed: true }>,
  runs: number,
): Promise<MachineCheckError> {
  let best = { operations: o.operations, v: failure };
  const fails = async (operations: number): Promise<boolean> => {
    if (runs-- <= 0) return false;
    const v = await verdict(seed, { ...o, operations, onTrace: undefined }, model, budget);
    if (v.failed && operations < best.operations) best = { operations, v };
    return v.failed;
  };
  let low = 0;
  let high = o.operations;
  for (let k = 1; k < o.operations && runs > 0; k *= 2) {
    if (await fails(k)) {
      high = k;
      break;
    }
    low = k;
  }
  while (high - low > 1 && runs > 0) {
    const mid = Math.floor((low + high) / 2);
    if (await fails(mid)) high = mid;
    else low = mid;
  }
  return new MachineCheckError(
    seed,
    best.operations,
    best.v.reason,
    best.v.history,
    best.v.run.trace.slice(-15),
  );
}

/**
 * Drops queries from a non-linearizable history while it stays non-linearizable: a query
 * changes nothing, so a history without it has every linearization the full one has, and a
 * shorter failing history is one the full history fails for too.
 */
function dropQueries(model: MachineModel, history: readonly HistoryOp[], budget: number): HistoryOp[] {
  let kept = [...history];
  for (const op of history) {
    if (op.kind !== "query") continue;
    const without = kept.filter((h) => h !== op);
    if (linearize(model, without, budget).ok === false) kept = without;
  }
  return kept;
}
