import type { SeededRandom } from "@raftkit/core";
import {
  CommandError,
  QueryError,
  SessionExpiredError,
  UnknownOperationError,
  ValidationError,
} from "../errors.js";
import type { Consistency } from "../types.js";
import type { ChaosIncarnation } from "./chaosNode.js";
import { sessionId } from "./chaosNode.js";
import type { HistoryOp, Outcome } from "./history.js";
import { EPOCH_MS } from "./sim/nodeClock.js";
import type { Scheduler, SimProcess } from "./sim/scheduler.js";
import type { DrawnOperation } from "./workload.js";

/** Client → node → client delay, in ms. */
const HOP_MS = 1;
/** How long a client waits for one node before trying another. */
const ATTEMPT_MS = 600;
/** How long a client keeps retrying one operation before recording its outcome as unknown. */
const DEADLINE_MS = 2_500;

/** A node as a client sees it. */
export interface ClientTarget {
  proc: SimProcess;
  current: ChaosIncarnation | null;
}

/**
 * Sequential clients following the SDK's session protocol, as a remote client through the HTTP
 * API: each has a session id and sequence numbers, sends a command to some node with
 * `runSequenced`, and on a failure (timeout, a crashed or partitioned node) retries the same
 * (session, seq) on another node until its deadline, then records an unknown outcome. Queries
 * go through `runner.query` with the workload's consistency. A reducer or query that throws
 * is a known outcome (its error's name).
 */
export class ChaosClients {
  readonly history: HistoryOp[] = [];
  /** The (session, seq) of each command operation, by operation id: how its log entry is found. */
  readonly keys = new Map<number, string>();
  /** Set when the workload itself is broken (an argument the machine refuses): the run stops. */
  workloadError: Error | null = null;
  #issued = 0;
  #pending = 0;
  readonly #sessions: string[] = [];
  readonly #seqs: number[] = [];
  readonly #inFlight = new Set<() => void>();

  readonly o: ChaosClientsOptions;

  constructor(o: ChaosClientsOptions) {
    this.o = o;
    for (let c = 0; c < o.clients; c++) {
      this.#sessions.push(this.#newSession());
      this.#seqs.push(1);
    }
  }

  start(): void {
    for (let c = 0; c < this.o.clients; c++) this.o.sched.after(this.o.rng.next() * 20, () => this.#next(c));
  }

  /** True once every operation was issued and has ended. */
  get finished(): boolean {
    return (this.#issued >= this.o.operations && this.#pending === 0) || this.workloadError !== null;
  }

  /** Records every operation still waiting as unknown. */
  abandonInFlight(): void {
    this.#issued = this.o.operations;
    for (const end of [...this.#inFlight]) end();
  }

  #next(client: number): void {
    if (this.#issued >= this.o.operations || this.workloadError) return;
    const id = this.#issued++;
    const op = this.o.draw(this.o.rng);
    this.#run(client, id, op, () => this.o.sched.after(this.o.rng.next() * 20, () => this.#next(client)));
  }

  #run(client: number, id: number, op: DrawnOperation, then: () => void): void {
    const { sched, rng } = this.o;
    const call = sched.now;
    const deadline = call + DEADLINE_MS;
    const session = this.#sessions[client]!;
    const seq = op.kind === "command" ? this.#seqs[client]!++ : 0;
    if (op.kind === "command") this.keys.set(id, `${session}\u0000${seq}`);
    this.#pending++;
    let attempt = 0;
    let done = false;
    const finish = (outcome: Outcome): void => {
      if (done) return;
      done = true;
      this.#pending--;
      this.#inFlight.delete(abandon);
      const ret = "unknown" in outcome ? Number.POSITIVE_INFINITY : sched.now;
      const h: HistoryOp = { id, client, kind: op.kind, name: op.name, arg: op.arg, call, ret, outcome };
      this.history.push(h);
      this.o.trace(
        `client ${client}: ${op.kind} ${op.name} → ${"unknown" in outcome ? "unknown" : "answered"}`,
      );
      then();
    };
    const abandon = (): void => finish({ unknown: true });
    this.#inFlight.add(abandon);
    const tryOnce = (): void => {
      if (done) return;
      if (sched.now >= deadline) {
        finish({ unknown: true });
        return;
      }
      const target = this.o.nodes[rng.int(this.o.nodes.length)]!;
      const mine = ++attempt;
      let answered = false;
      const answer = (o: Outcome | null): void => {
        sched.after(HOP_MS, () => {
          if (answered || attempt !== mine) return;
          answered = true;
          if (o) finish(o);
          else tryOnce();
        });
      };
      sched.after(Math.min(ATTEMPT_MS, deadline - sched.now), () => {
        if (answered || attempt !== mine) return;
        answered = true;
        tryOnce();
      });
      sched.after(
        HOP_MS,
        () => {
          const inc = target.current;
          if (!inc) return answer(null);
          const budget = { timeoutMs: ATTEMPT_MS - 2 * HOP_MS };
          const p =
            op.kind === "query"
              ? inc.runner.query(op.name, [op.arg, { consistency: this.o.consistency, ...budget }])
              : inc.runner.runSequenced(op.name, op.arg, session, seq, () => seq, budget);
          p.then(
            (value) => answer({ ok: true, value }),
            (e: unknown) => {
              if (e instanceof CommandError || e instanceof QueryError)
                return answer({ ok: false, error: e.errorName });
              if (e instanceof ValidationError || e instanceof UnknownOperationError) {
                this.workloadError = new Error(
                  `the workload's ${op.kind} ${op.name} was refused: ${e.message}`,
                );
                return answer({ unknown: true });
              }
              if (!(e instanceof SessionExpiredError)) return answer(null);
              // The session was swept: whether the command ran is unknown; later ones use a new session.
              if (this.#sessions[client] === session) {
                this.#sessions[client] = this.#newSession();
                this.#seqs[client] = 1;
              }
              answer({ unknown: true });
            },
          );
        },
        target.proc,
      );
    };
    tryOnce();
  }

  #newSession(): string {
    return sessionId(EPOCH_MS + this.o.sched.now, this.o.rng);
  }
}

/** What the clients run, and against which nodes. */
export interface ChaosClientsOptions {
  sched: Scheduler;
  rng: SeededRandom;
  clients: number;
  operations: number;
  consistency: Consistency;
  draw: (r: SeededRandom) => DrawnOperation;
  nodes: readonly ClientTarget[];
  trace: (line: string) => void;
}
