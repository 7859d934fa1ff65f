/**
 * Restart times of members run with the compiled `raftkit start` (the CLI must be built), as
 * {@link RestartRound} says. Shared by `pnpm bench restart` and the restart test.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const PKG = join(dirname(fileURLToPath(import.meta.url)), "..");
const SECRET = "restart-bench";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The status code of one request, 0 when it failed or took over 2 s. */
function call(url: string, method = "GET", body?: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method,
        headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
        agent: false,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.setTimeout(2000, () => req.destroy());
    req.on("error", () => resolve(0));
    req.end(body);
  });
}

/** Where a member's start went, as `raftkit start` logs it (`"event":"started"`), in ms. */
export interface StartupMs {
  total: number;
  nodejs: number;
  code: number;
  machine: number;
  start: number;
}

/** One restart of each kind, in ms. */
export interface RestartRound {
  /** From spawning a restarted member to its first 200 on `<api>/status`. */
  serveMs: number;
  /** From spawning two killed members again to the first write acknowledged through the third. */
  resumeMs: number;
  /** The restarted member's own account of its start (absent from a CLI that does not log it). */
  serveStartup?: StartupMs;
  /** From spawning the two to the first of them printing its ready line. */
  resumeFirstReadyMs?: number;
  /** From spawning the two to the first member logging a new leader (or one it newly hears from). */
  resumeLeaderMs?: number;
}

/**
 * A three-member cluster of the compiled CLI in a temporary directory. `raft` goes to every
 * member's `--config` (e.g. `{ leaseReads: true }`). Every wait fails after `deadlineMs`.
 * `cliDir` is the @raftkit/cli package whose `dist/bin.js` runs, with its test machine (default:
 * this one; another checkout's, built, to compare). The caller must {@link RestartCluster.close} it.
 */
export class RestartCluster {
  readonly #base = mkdtempSync(join(tmpdir(), "raftkit-restart-"));
  readonly #deadlineMs: number;
  readonly #ids = ["n1", "n2", "n3"] as const;
  readonly #peers: Record<string, string> = {};
  readonly #procs = new Map<string, ChildProcess>();
  readonly #config: string;
  readonly #secretFile: string;
  readonly #bin: string;
  readonly #machine: string;
  /** Per member, what its current process said: when it was ready, its startup times. */
  readonly #said = new Map<string, { readyAt?: number; startup?: StartupMs }>();
  /** When any member logged a leader change. */
  readonly #leaderChanges: number[] = [];

  constructor(o: { raft?: Record<string, unknown>; deadlineMs?: number; cliDir?: string } = {}) {
    this.#deadlineMs = o.deadlineMs ?? 30_000;
    this.#bin = join(o.cliDir ?? PKG, "dist/bin.js");
    this.#machine = join(o.cliDir ?? PKG, "test/fixtures/counter.mjs");
    this.#secretFile = join(this.#base, "secret");
    writeFileSync(this.#secretFile, `${SECRET}\n`);
    this.#config = join(this.#base, "node.json");
    writeFileSync(this.#config, JSON.stringify({ raft: o.raft ?? {} }));
  }

  /** Starts the three members and waits for a first write. */
  async start(): Promise<void> {
    for (const id of this.#ids) this.#peers[id] = `http://127.0.0.1:${await freePort()}`;
    for (const id of this.#ids) this.#spawn(id);
    await this.#until("the first write", () => this.#write("n1"));
  }

  /**
   * Round `i`: kills one member, restarts it and times its serving; then kills two, restarts
   * them and times the first write through the third.
   */
  async round(i: number): Promise<RestartRound> {
    const [a, b, survivor] = [0, 1, 2].map((k) => this.#ids[(i + k) % 3]!) as [string, string, string];
    await this.#kill(a);
    const t0 = performance.now();
    this.#spawn(a);
    await this.#until(`${a} to serve after its restart`, () => this.#serves(a));
    const serveMs = performance.now() - t0;
    await this.#until(`a write through ${a}`, () => this.#write(a));

    await Promise.all([this.#kill(a), this.#kill(b)]);
    const t1 = performance.now();
    const serveStartup = this.#said.get(a)?.startup;
    this.#spawn(a);
    this.#spawn(b);
    await this.#until("writes to resume after two of three restarted", () => this.#write(survivor));
    const resumeMs = performance.now() - t1;
    const ready = [a, b].map((id) => this.#said.get(id)?.readyAt).filter((t) => t !== undefined);
    const leader = this.#leaderChanges.find((t) => t >= t1);
    return {
      serveMs,
      resumeMs,
      ...(serveStartup && { serveStartup }),
      ...(ready.length > 0 && { resumeFirstReadyMs: Math.min(...ready) - t1 }),
      ...(leader !== undefined && { resumeLeaderMs: leader - t1 }),
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#procs.keys()].map((id) => this.#kill(id)));
    rmSync(this.#base, { recursive: true, force: true });
  }

  #spawn(id: string): void {
    const args = ["start", "--machine", this.#machine, "--id", id, "--data-dir", join(this.#base, id)];
    args.push("--peers", this.#ids.map((p) => `${p}=${this.#peers[p]}`).join(","));
    args.push("--listen", new URL(this.#peers[id]!).host, "--secret-file", this.#secretFile);
    args.push("--config", this.#config);
    // Logs at info: the ready line and the started and leaderChanged records time the phases.
    const p = spawn(process.execPath, [this.#bin, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, RAFTKIT_LOG_LEVEL: "info" },
    });
    this.#procs.set(id, p);
    const said: { readyAt?: number; startup?: StartupMs } = {};
    this.#said.set(id, said);
    createInterface({ input: p.stdout! }).on("line", (line) => {
      if (line.includes(" ready: ")) said.readyAt ??= performance.now();
    });
    createInterface({ input: p.stderr! }).on("line", (line) => {
      if (line.includes('"event":"leaderChanged"')) this.#leaderChanges.push(performance.now());
      else if (line.includes('"event":"started"'))
        said.startup = (JSON.parse(line) as { startupMs: StartupMs }).startupMs;
    });
  }

  #kill(id: string): Promise<void> {
    return new Promise((resolve) => {
      const p = this.#procs.get(id)!;
      if (p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once("exit", () => resolve());
      p.kill("SIGKILL");
    });
  }

  async #write(id: string): Promise<boolean> {
    const body = JSON.stringify({ json: { arg: 1 } });
    return (await call(`${this.#peers[id]}/raftkit/commands/add`, "POST", body)) === 200;
  }

  async #serves(id: string): Promise<boolean> {
    return (await call(`${this.#peers[id]}/raftkit/status`)) === 200;
  }

  async #until(what: string, cond: () => Promise<boolean>): Promise<void> {
    const deadline = performance.now() + this.#deadlineMs;
    while (!(await cond())) {
      if (performance.now() > deadline)
        throw new Error(`timed out after ${this.#deadlineMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/**
 * Ms from spawning `node -e ""` to its exit: what any restart costs before raftkit runs. `env`
 * changes the environment (a variable set to undefined is removed).
 */
export function bareNodeMs(env: Record<string, string | undefined> = {}): number {
  const t0 = performance.now();
  spawnSync(process.execPath, ["-e", ""], { env: { ...process.env, ...env } });
  return performance.now() - t0;
}
