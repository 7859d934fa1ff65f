import { type AppliedEntry, deriveSeed, SeededRandom } from "@raftkit/core";
import { decodeValue } from "../codec.js";
import type { CommandOutcome, CommandPayload } from "../commandLog.js";
import type { AnyMachine, Consistency } from "../types.js";
import { ChaosClients } from "./chaosClients.js";
import { ChaosFaults, type FaultOptions } from "./chaosFaults.js";
import { ChaosNode, TICK_MS } from "./chaosNode.js";
import { canonical, type EntryContext, type HistoryOp } from "./history.js";
import { Scheduler } from "./sim/scheduler.js";
import { SimNetwork } from "./sim/simNetwork.js";
import { TraceLog } from "./sim/traceLog.js";
import type { DrawnOperation } from "./workload.js";

/** Everything one seed's run needs besides the seed. */
export interface RunOptions {
  machine: AnyMachine;
  draw: (r: SeededRandom) => DrawnOperation;
  nodes: number;
  clients: number;
  operations: number;
  consistency: Consistency;
  faults: Required<FaultOptions>;
  onTrace?: ((line: string) => void) | undefined;
}

/** What one seed's run produced; the checks of the model come after. */
export interface RunResult {
  history: HistoryOp[];
  /** A violation seen while running (replicas diverged, the cluster did not recover), or null. */
  violation: string | null;
  /** The workload is broken (an argument the machine refuses). */
  workloadError: Error | null;
  trace: string[];
  simulatedMs: number;
  faults: string;
}

/** Simulated ms the cluster gets, after the faults stop, to finish every operation and catch up. */
const SETTLE_MS = 10_000;
/** Replica states are compared every this many ms. */
const SAMPLE_MS = 50;

/**
 * Runs one seed: `nodes` members of the real stack (RaftNode, ReplicatedMachine with the
 * user's machine, CommandRunner, FileStorage on a SimulatedDisk, the wire codec on a
 * simulated network), all on one seeded scheduler, with clients running the workload and
 * faults injected until the workload is done; then heals everything and lets every member
 * catch up. Records the history, each command's log entry, and checks that replicas at
 * the same applied index hold the same state.
 */
export async function runSeed(seed: number, o: RunOptions): Promise<RunResult> {
  const stream = (k: number) => new SeededRandom(deriveSeed(seed, k));
  const sched = new Scheduler();
  const trace = new TraceLog(sched, 60, o.onTrace);
  const net = new SimNetwork(sched, stream(1), {
    loss: o.faults.loss,
    duplicate: o.faults.duplicate,
    minDelayMs: 0.5,
    maxDelayMs: 4,
    slow: o.faults.reorder,
    slowDelayMs: TICK_MS * 5,
    redeliver: 0,
    redeliverWaitMs: 0,
  });
  const entries = new Map<string, EntryContext>();
  const states = new Map<number, { node: string; text: string }>();
  let violation: string | null = null;
  const applied = (_n: ChaosNode, e: AppliedEntry): void => {
    const out = e.result as CommandOutcome | undefined;
    if (!out || out.duplicate) return;
    let p: CommandPayload;
    try {
      p = decodeValue<CommandPayload>(e.payload, "entry");
    } catch {
      return;
    }
    const key = `${p.session}\u0000${p.seq}`;
    if (!entries.has(key)) entries.set(key, { index: e.index, term: e.term, time: out.time });
  };
  const nodeRng = stream(2);
  const nodes: ChaosNode[] = [];
  for (let i = 1; i <= o.nodes; i++)
    nodes.push(
      new ChaosNode(`n${i}`, {
        sched,
        net,
        rng: nodeRng,
        machine: o.machine,
        sessionTtlMs: 600_000,
        applied,
      }),
    );
  const peers = Object.fromEntries(nodes.map((n) => [n.id, n.address]));
  const start = (n: ChaosNode): void => {
    n.start(peers).catch((e: unknown) => {
      trace.add(`${n.id}: failed to start: ${(e as Error).message}`);
      n.crash();
      sched.after(50, () => start(n));
    });
  };
  const faults = new ChaosFaults({
    sched,
    rng: stream(3),
    net,
    nodes,
    options: o.faults,
    restart: start,
    trace: (l) => trace.add(l),
  });
  const clients = new ChaosClients({
    sched,
    rng: stream(4),
    clients: o.clients,
    operations: o.operations,
    consistency: o.consistency,
    draw: o.draw,
    nodes,
    trace: (l) => trace.add(l),
  });
  const sample = (): void => {
    for (const n of nodes) {
      const inc = n.current;
      if (!inc) continue;
      const index = inc.raft.status().applied;
      const text = canonical(inc.replicated.state);
      const first = states.get(index);
      if (!first) states.set(index, { node: n.id, text });
      else if (first.text !== text && violation === null)
        violation =
          `replicas diverged: at applied index ${index}, ${first.node} holds\n    ${first.text}\n  and ${n.id} holds\n    ${text}\n` +
          "  (a reducer that is not deterministic, or state changed outside a reducer)";
    }
  };
  let lastSample = 0;
  const step = (): boolean => {
    if (sched.now - lastSample >= SAMPLE_MS) {
      lastSample = sched.now;
      sample();
    }
    return violation === null && clients.workloadError === null;
  };
  const onThrow = (e: unknown): void => {
    violation ??= `a callback threw: ${(e as Error)?.stack ?? String(e)}`;
  };
  for (const n of nodes) sched.after(0, () => start(n));
  faults.start();
  clients.start();
  // Faults run while the workload does.
  while (!clients.finished && step()) await sched.runUntil(sched.now + 100, step, onThrow);
  faults.stop();
  trace.add("heal: faults stop, crashed nodes restart");
  for (const n of nodes) if (!n.current) start(n);
  const deadline = sched.now + SETTLE_MS;
  const caughtUp = (): boolean => {
    const leader = nodes.find((n) => n.current?.raft.status().role === "leader")?.current?.raft.status();
    return (
      leader !== undefined && nodes.every((n) => (n.current?.raft.status().applied ?? -1) >= leader.commit)
    );
  };
  while (!(clients.finished && caughtUp()) && sched.now < deadline && step())
    await sched.runUntil(sched.now + 50, step, onThrow);
  clients.abandonInFlight();
  if (violation === null) sample();
  if (violation === null && !caughtUp())
    violation = `the cluster did not recover: ${SETTLE_MS} ms after the faults stopped, its members had not caught up with a leader`;
  const history = clients.history.map((h) => {
    const key = clients.keys.get(h.id);
    const entry = key === undefined ? undefined : entries.get(key);
    return entry ? { ...h, entry } : h;
  });
  if (violation === null) {
    const lost = history.find((h) => h.kind === "command" && !("unknown" in h.outcome) && !h.entry);
    if (lost)
      violation = `command ${lost.name} (operation ${lost.id}) was answered but never reached the log`;
  }
  return {
    history: history.sort((a, b) => a.id - b.id),
    violation,
    workloadError: clients.workloadError,
    trace: trace.lines(),
    simulatedMs: Math.round(sched.now),
    faults: faults.describe(),
  };
}
