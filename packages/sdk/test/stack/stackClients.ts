import type { AppliedEntry, SeededRandom } from "@raftkit/core";
import type { Operation } from "@raftkit/core/history";
import type { CommandOutcome } from "../../src/commandLog.js";
import { SessionExpiredError } from "../../src/errors.js";
import type { WithToken } from "../../src/readToken.js";
import { EPOCH_MS } from "../../src/testing/sim/nodeClock.js";
import type { Scheduler } from "../../src/testing/sim/scheduler.js";
import { type SessionEvent, WriteOrder } from "./sessionGuarantees.js";
import { commandKey } from "./stackChecks.js";
import type { StackConfig } from "./stackConfig.js";
import { type StackNode, stampedSessionId } from "./stackNode.js";

/** Client-side breakage, for the linearizability check's own test. */
export interface ClientBugs {
  /** Reads answer from the node's state with no readIndex or lease. */
  staleReads?: boolean;
  /** Session reads are sent without the client's token, as a client that forgot it would. */
  sessionReadsIgnoreToken?: boolean;
}

export interface ClientStats {
  writesAcked: number;
  readsServed: number;
  leaseReads: number;
  sessionReads: number;
  unknownOps: number;
  retries: number;
  inspects: number;
  sessionsRenewed: number;
}

type Request =
  | { kind: "put"; key: string; value: number }
  | { kind: "cas"; key: string; expected: number | null; value: number }
  | { kind: "get"; key: string; consistency: "linearizable" | "lease" | "session" }
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
 * Reads go through `runner.queryWithToken` with `linearizable`, `lease` or `session`
 * consistency; each client keeps the highest read token of its answers, as createClient does,
 * and its session reads wait for it. Session reads are checked for read-your-writes and
 * monotonic reads (`sessionEvents`), not for linearizability (`history`).
 */
export class StackClients {
  readonly history: Operation[] = [];
  /** Commands acknowledged to a client, as (session, seq) keys. */
  readonly acked: string[] = [];
  /** Each client's acknowledged writes and reads, for the session guarantees. */
  readonly sessionEvents: SessionEvent[] = [];
  /** Where each value was written in the log, from the applied entries. */
  readonly writeOrder = new WriteOrder();
  readonly stats: ClientStats = {
    writesAcked: 0,
    readsServed: 0,
    leaseReads: 0,
    sessionReads: 0,
    unknownOps: 0,
    retries: 0,
    inspects: 0,
    sessionsRenewed: 0,
  };
  /** Stop issuing new operations (the heal phase's final write is issued separately). */
  stopped = false;
  readonly #sched: Scheduler;
  readonly #rng: SeededRandom;
  /** Which linearizable reads are session reads: a stream of its own, so every other draw of a seed stays as it was. */
  readonly #sessionRng: SeededRandom;
  readonly #config: StackConfig;
  readonly #nodes: () => readonly StackNode[];
  readonly #bugs: ClientBugs;
  readonly #fail: (msg: string) => void;
  readonly #trace: (line: string) => void;
  readonly #sessions: string[] = [];
  readonly #seqs: number[] = [];
  /** Each client's highest read token. */
  readonly #tokens: number[] = [];
  #nextValue = 1;
  /** How to end each operation still waiting for an answer. */
  readonly #inFlight = new Set<(output: unknown, ok: boolean) => void>();

  constructor(o: {
    sched: Scheduler;
    rng: SeededRandom;
    sessionRng: SeededRandom;
    config: StackConfig;
    nodes: () => readonly StackNode[];
    bugs: ClientBugs;
    fail: (msg: string) => void;
    trace: (line: string) => void;
  }) {
    this.#sched = o.sched;
    this.#rng = o.rng;
    this.#sessionRng = o.sessionRng;
    this.#config = o.config;
    this.#nodes = o.nodes;
    this.#bugs = o.bugs;
    this.#fail = o.fail;
    this.#trace = o.trace;
    for (let c = 0; c < o.config.clients; c++) {
      this.#sessions.push(this.#newSession());
      this.#seqs.push(1);
      this.#tokens.push(0);
    }
  }

  /** An entry applied on some node: records where a write put its value (committed entries are the same everywhere). */
  applied(e: AppliedEntry): void {
    const o = e.result as CommandOutcome;
    if (!o.result.ok || o.duplicate) return;
    const arg = o.arg as { key?: string; value?: number };
    const wrote = o.name === "put" || (o.name === "cas" && o.result.value === true);
    if (wrote && typeof arg.key === "string" && typeof arg.value === "number")
      this.writeOrder.record(arg.key, arg.value, e.index);
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
    if (r.chance(c.readShare))
      req = {
        kind: "get",
        key,
        consistency: r.chance(c.leaseShare)
          ? "lease"
          : this.#sessionRng.chance(0.4)
            ? "session"
            : "linearizable",
      };
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
          let p: Promise<WithToken<unknown>>;
          if (req.kind === "get") {
            const after =
              req.consistency === "session" && !this.#bugs.sessionReadsIgnoreToken
                ? { after: this.#tokens[client]! }
                : {};
            p = this.#bugs.staleReads
              ? Promise.resolve({ result: inc.replicated.query("get", req.key), token: 0 })
              : inc.node.runner.queryWithToken("get", [
                  req.key,
                  { consistency: req.consistency, ...after, ...budget },
                ]);
          } else {
            const { kind, ...arg } = req;
            // As over HTTP: `lowest` is fixed when the request is sent (the client is sequential: everything before `seq` is done).
            p = inc.node.runner.runSequencedWithToken(kind, arg, session, seq, () => seq, budget);
          }
          p.then(
            ({ result: v, token }) => {
              if (req.kind === "get" && target.current === inc && target.state === "failed") {
                this.#fail(`stopped node: ${target.id} served a ${req.consistency} read after it stopped`);
              }
              // Kept even if this answer arrives after the client moved on: a later token is still valid.
              this.#tokens[client] = Math.max(this.#tokens[client]!, token);
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
        if (ok)
          this.sessionEvents.push({ client, op: "write", key: req.key, value: req.value, call, return: ret });
        this.history.push({ client, op: "put", key: req.key, value: req.value, call, ...end });
        return;
      case "cas":
        if (ok) this.stats.writesAcked++;
        if (ok && output === true)
          this.sessionEvents.push({ client, op: "write", key: req.key, value: req.value, call, return: ret });
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
        if (req.consistency === "lease") this.stats.leaseReads++;
        this.sessionEvents.push({
          client,
          op: "read",
          key: req.key,
          output: output as number | null,
          session: req.consistency === "session",
          call,
          return: ret,
        });
        // Session reads promise less than linearizability: the session check covers them.
        if (req.consistency === "session") {
          this.stats.sessionReads++;
          return;
        }
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
      return `get ${r.key} (${r.consistency})`;
    case "inspect":
      return `inspect ${r.key}`;
  }
}
