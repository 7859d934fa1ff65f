import type { SeededRandom } from "@raftkit/core";
import type { Operation } from "@raftkit/core/history";
import { SessionExpiredError } from "../../src/errors.js";
import { EPOCH_MS } from "../../src/testing/sim/nodeClock.js";
import type { Scheduler } from "../../src/testing/sim/scheduler.js";
import { commandKey } from "./stackChecks.js";
import type { StackConfig } from "./stackConfig.js";
import { type StackNode, stampedSessionId } from "./stackNode.js";

/** Client-side breakage, for the linearizability check's own test. */
export interface ClientBugs {
  /** Reads answer from the node's state with no readIndex or lease. */
  staleReads?: boolean;
}

export interface ClientStats {
  writesAcked: number;
  readsServed: number;
  leaseReads: number;
  unknownOps: number;
  retries: number;
  inspects: number;
  sessionsRenewed: number;
}

type Request =
  | { kind: "put"; key: string; value: number }
  | { kind: "cas"; key: string; expected: number | null; value: number }
  | { kind: "get"; key: string; lease: boolean }
  | { kind: "inspect"; key: string };

/** Client → node → client network delay, in ms. */
const HOP_MS = 1;
/** How long a client waits for one node before trying another. */
const ATTEMPT_MS = 800;
/** How long a client keeps retrying one operation before recording it as unknown. */
const DEADLINE_MS = 3_000;

/**
 * Sequential clients that follow the SDK's session protocol as a remote client does through
 * the HTTP API: each has its own session id and sequence numbers, sends a command to some node
 * with `runner.runSequenced`, and on a failure (timeout, a stopped or crashed node) retries the
 * same (session, seq) on another node until its deadline, then records the outcome as unknown.
 * Reads go through `runner.query` with `linearizable` or `lease` consistency.
 */
export class StackClients {
  readonly history: Operation[] = [];
  /** Commands acknowledged to a client, as (session, seq) keys. */
  readonly acked: string[] = [];
  readonly stats: ClientStats = {
    writesAcked: 0,
    readsServed: 0,
    leaseReads: 0,
    unknownOps: 0,
    retries: 0,
    inspects: 0,
    sessionsRenewed: 0,
  };
  /** Stop issuing new operations (the heal phase's final write is issued separately). */
  stopped = false;
  readonly #sched: Scheduler;
  readonly #rng: SeededRandom;
  readonly #config: StackConfig;
  readonly #nodes: () => readonly StackNode[];
  readonly #bugs: ClientBugs;
  readonly #fail: (msg: string) => void;
  readonly #trace: (line: string) => void;
  readonly #sessions: string[] = [];
  readonly #seqs: number[] = [];
  #nextValue = 1;
  /** How to end each operation still waiting for an answer. */
  readonly #inFlight = new Set<(output: unknown, ok: boolean) => void>();

  constructor(o: {
    sched: Scheduler;
    rng: SeededRandom;
    config: StackConfig;
    nodes: () => readonly StackNode[];
    bugs: ClientBugs;
    fail: (msg: string) => void;
    trace: (line: string) => void;
  }) {
    this.#sched = o.sched;
    this.#rng = o.rng;
    this.#config = o.config;
    this.#nodes = o.nodes;
    this.#bugs = o.bugs;
    this.#fail = o.fail;
    this.#trace = o.trace;
    for (let c = 0; c < o.config.clients; c++) {
      this.#sessions.push(this.#newSession());
      this.#seqs.push(1);
    }
  }

  start(): void {
    for (let c = 0; c < this.#config.clients; c++)
      this.#sched.after(this.#rng.next() * 20, () => this.#next(c));
  }

  /** Runs one put from client 0 and calls `done(ok)`: the liveness probe after the faults heal (the caller retries an unknown one). */
  finalWrite(done: (ok: boolean) => void): void {
    this.#run(0, { kind: "put", key: "k0", value: this.#nextValue++ }, 20_000, (ok) => done(ok));
  }

  /** Ends the run: every operation still waiting is recorded with an unknown outcome. */
  abandonInFlight(): void {
    this.stopped = true;
    for (const finish of [...this.#inFlight]) finish(undefined, false);
  }

  #next(client: number): void {
    if (this.stopped) return;
    const r = this.#rng;
    const c = this.#config;
    const key = `k${r.int(c.keys)}`;
    let req: Request;
    if (r.chance(c.readShare)) req = { kind: "get", key, lease: r.chance(c.leaseShare) };
    else if (r.chance(c.inspectShare)) req = { kind: "inspect", key };
    else if (r.chance(0.5)) req = { kind: "put", key, value: this.#nextValue++ };
    else
      req = {
        kind: "cas",
        key,
        expected: r.chance(0.2) ? null : Math.max(1, this.#nextValue - 1 - r.int(4)),
        value: this.#nextValue++,
      };
    this.#run(client, req, DEADLINE_MS, () => this.#sched.after(r.next() * 30, () => this.#next(client)));
  }

  #run(client: number, req: Request, deadlineMs: number, then: (ok: boolean) => void): void {
    const call = this.#sched.now;
    const deadline = call + deadlineMs;
    const isCommand = req.kind !== "get";
    const seq = isCommand ? this.#seqs[client]!++ : 0;
    const session = this.#sessions[client]!;
    let attempt = 0;
    let done = false;
    const finish = (output: unknown | undefined, ok: boolean): void => {
      if (done) return;
      done = true;
      this.#inFlight.delete(finish);
      this.#record(client, req, call, ok ? output : undefined, ok);
      if (ok && isCommand) this.acked.push(commandKey(session, seq));
      then(ok);
    };
    this.#inFlight.add(finish);
    const tryOnce = (): void => {
      if (done) return;
      if (this.#sched.now >= deadline) {
        finish(undefined, false);
        return;
      }
      const candidates = this.#nodes().filter((n) => n.state !== "lost");
      const target = candidates[this.#rng.int(candidates.length)]!;
      const mine = ++attempt;
      if (mine > 1) this.stats.retries++;
      let answered = false;
      const answer = (ok: boolean, output?: unknown): void => {
        this.#sched.after(HOP_MS, () => {
          if (answered || attempt !== mine) return;
          answered = true;
          if (ok) finish(output, true);
          else tryOnce();
        });
      };
      this.#sched.after(Math.min(ATTEMPT_MS, deadline - this.#sched.now), () => {
        if (answered || attempt !== mine) return;
        answered = true;
        tryOnce();
      });
      // The request travels to the node; it waits there if the node is paused, and vanishes if it crashes.
      this.#sched.after(
        HOP_MS,
        () => {
          // A node stopped by a fatal error still runs its process, and its API still answers.
          const inc = target.state === "running" || target.state === "failed" ? target.current : null;
          if (!inc) {
            answer(false);
            return;
          }
          const budget = { timeoutMs: Math.max(1, ATTEMPT_MS - 2 * HOP_MS) };
          let p: Promise<unknown>;
          if (req.kind === "get") {
            p = this.#bugs.staleReads
              ? Promise.resolve(inc.replicated.query("get", req.key))
              : inc.node.runner.query("get", [
                  req.key,
                  { consistency: req.lease ? "lease" : "linearizable", ...budget },
                ]);
          } else {
            const { kind, ...arg } = req;
            // As over HTTP: `lowest` is fixed when the request is sent (the client is sequential: everything before `seq` is done).
            p = inc.node.runner.runSequenced(kind, arg, session, seq, () => seq, budget);
          }
          p.then(
            (v) => {
              if (req.kind === "get" && target.current === inc && target.state === "failed") {
                this.#fail(
                  `stopped node: ${target.id} served a ${req.lease ? "lease" : "linearizable"} read after it stopped`,
                );
              }
              answer(true, v);
            },
            (e: unknown) => {
              if (!(e instanceof SessionExpiredError)) return answer(false);
              // The session was swept: the command is refused (or was applied before); start a new session.
              this.#sched.after(HOP_MS, () => {
                if (answered || attempt !== mine || this.#sessions[client] !== session) return;
                answered = true;
                this.stats.sessionsRenewed++;
                this.#sessions[client] = this.#newSession();
                this.#seqs[client] = 1;
                finish(undefined, false);
              });
            },
          );
        },
        target.proc,
      );
    };
    tryOnce();
  }

  /** A session id stamped with the client's clock (true simulated time), as createClient makes them. */
  #newSession(): string {
    return stampedSessionId(EPOCH_MS + this.#sched.now, this.#rng);
  }

  #record(client: number, req: Request, call: number, output: unknown, ok: boolean): void {
    const ret = this.#sched.now;
    const end = ok ? { return: ret } : { unknown: true as const };
    if (!ok) this.stats.unknownOps++;
    this.#trace(`client ${client}: ${describe(req)} → ${ok ? show(output) : "unknown"}`);
    switch (req.kind) {
      case "put":
        if (ok) this.stats.writesAcked++;
        this.history.push({ client, op: "put", key: req.key, value: req.value, call, ...end });
        return;
      case "cas":
        if (ok) this.stats.writesAcked++;
        if (ok)
          this.history.push({
            client,
            op: "cas",
            key: req.key,
            expected: req.expected,
            value: req.value,
            ok: output === true,
            call,
            return: ret,
          });
        else
          this.history.push({
            client,
            op: "cas",
            key: req.key,
            expected: req.expected,
            value: req.value,
            call,
            unknown: true,
          });
        return;
      case "get":
        if (!ok) return;
        this.stats.readsServed++;
        if (req.lease) this.stats.leaseReads++;
        this.history.push({
          client,
          op: "get",
          key: req.key,
          output: output as number | null,
          call,
          return: ret,
        });
        return;
      case "inspect":
        this.stats.inspects++;
        return;
    }
  }
}

/** A result as text; a result the SDK left holding a revoked immer draft says so instead of throwing. */
function show(v: unknown): string {
  try {
    return JSON.stringify(v) ?? "undefined";
  } catch (e) {
    return `<unreadable result: ${(e as Error).message}>`;
  }
}

function describe(r: Request): string {
  switch (r.kind) {
    case "put":
      return `put ${r.key}=${r.value}`;
    case "cas":
      return `cas ${r.key} ${r.expected}→${r.value}`;
    case "get":
      return `get ${r.key} (${r.lease ? "lease" : "linearizable"})`;
    case "inspect":
      return `inspect ${r.key}`;
  }
}
