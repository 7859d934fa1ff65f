import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineMachine } from "@raftkit/sdk";
import { afterAll, beforeAll } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..");
export const BIN = join(pkg, "dist/bin.js");
export const MACHINE = join(here, "fixtures/counter.mjs");
export const SECRET = "cli-test-secret";

/** The shape of the fixture machine (fixtures/counter.mjs), for a typed client. */
export const fixtureCounter = defineMachine({
  initial: () => ({ n: 0, log: [] as number[] }),
  commands: { add: (s, by: number) => (s.n += by) },
  queries: { value: (s) => s.n, log: (s) => s.log },
});

/** Builds every package's dist, as `pnpm build` does: the CLI runs the SDK, core, store and transport from theirs. */
export function buildCli(): void {
  const build = join(pkg, "../../scripts/build.mjs");
  execFileSync(process.execPath, [build], { stdio: "inherit", timeout: 240_000 });
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `cond` until it gives a value; fails after `ms` naming `what`. */
export async function waitFor<T>(
  what: string,
  cond: () => Promise<T | undefined | false>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await cond();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `timed out after ${ms} ms waiting for ${what}${last ? ` (${(last as Error).message})` : ""}`,
  );
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Temporary directories and `raftkit start` processes, cleaned up by {@link Workspace.cleanup}. */
export class Workspace {
  readonly base = mkdtempSync(join(tmpdir(), "raftkit-cli-"));
  readonly secretFile = join(this.base, "secret");
  readonly procs = new Map<string, ChildProcess>();
  readonly logs = new Map<string, string[]>();

  constructor() {
    writeFileSync(this.secretFile, `${SECRET}\n`);
  }

  /** Runs `raftkit args…` to completion. */
  run(args: string[], env: Record<string, string> = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [BIN, ...args],
        { env: { ...process.env, RAFTKIT_SECRET: SECRET, ...env }, timeout: 60_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  /** Starts `raftkit start` as `name` and resolves with its ready line, or rejects with its stderr if it exits first. */
  start(name: string, args: string[]): Promise<string> {
    const proc = spawn(process.execPath, [BIN, "start", "--secret-file", this.secretFile, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.procs.set(name, proc);
    const log: string[] = [];
    this.logs.set(name, log);
    proc.stderr!.on("data", (d: Buffer) => {
      log.push(d.toString());
      if (log.length > 300) log.shift();
    });
    return new Promise((resolve, reject) => {
      let out = "";
      proc.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const line = out.split("\n").find((l) => l.includes(" ready: "));
        if (line) resolve(line);
      });
      proc.once("exit", (code) =>
        reject(new Error(`${name} exited with ${code} before ready:\n${log.join("").slice(-3000)}`)),
      );
    });
  }

  /** Sends `signal` to `name` and resolves with its exit code (or the signal that ended it, with its last log). */
  stop(name: string, signal: NodeJS.Signals = "SIGTERM"): Promise<number | string | null> {
    const proc = this.procs.get(name);
    if (!proc || proc.exitCode !== null || proc.signalCode !== null)
      return Promise.resolve(proc?.exitCode ?? proc?.signalCode ?? null);
    return new Promise((resolve) => {
      proc.once("close", (code, sig) =>
        resolve(code ?? `${sig}: ${this.logs.get(name)?.join("").slice(-1500)}`),
      );
      proc.kill(signal);
    });
  }

  /**
   * Starts `id` with `raftkit start --join` at `url` as `<prefix>-<id>` (data in `<prefix>/<id>`),
   * knowing the members `peers` and itself; resolves with its ready line.
   */
  join(prefix: string, id: string, url: string, peers: Record<string, string>): Promise<string> {
    return this.start(`${prefix}-${id}`, [
      "--machine",
      MACHINE,
      "--id",
      id,
      "--data-dir",
      join(this.base, prefix, id),
      "--join",
      "--peers",
      peerList({ ...peers, [id]: url }),
      "--listen",
      new URL(url).host,
    ]);
  }

  async cleanup(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((n) => this.stop(n, "SIGKILL")));
    rmSync(this.base, { recursive: true, force: true });
  }
}

/** `id=url,…`, as `--peers` takes it. */
export const peerList = (peers: Record<string, string>): string =>
  Object.entries(peers)
    .map(([id, url]) => `${id}=${url}`)
    .join(",");

/**
 * The test file's Workspace: the CLI is built before its tests, and the workspace cleaned up
 * after them (call at the top level of a test file).
 */
export function useWorkspace(): Workspace {
  const ws = new Workspace();
  beforeAll(buildCli, 300_000);
  afterAll(() => ws.cleanup());
  return ws;
}

/** Starts `ids` with `raftkit start` on fresh ports (or those given); resolves with the peers map. */
export async function startCluster(
  ws: Workspace,
  ids: string[],
  prefix: string,
  restoreFrom?: string,
): Promise<Record<string, string>> {
  const peers: Record<string, string> = {};
  for (const id of ids) peers[id] = `http://127.0.0.1:${await freePort()}`;
  for (const id of ids) {
    const dataDir = join(ws.base, prefix, id);
    if (restoreFrom) {
      const r = await ws.run([
        "snapshot",
        "restore",
        restoreFrom,
        "--data-dir",
        dataDir,
        "--id",
        id,
        "--peers",
        peerList(peers),
      ]);
      if (r.code !== 0) throw new Error(`snapshot restore for ${id} failed (${r.code}): ${r.stderr}`);
    }
  }
  await Promise.all(
    ids.map((id) =>
      ws.start(`${prefix}-${id}`, [
        "--machine",
        MACHINE,
        "--id",
        id,
        "--data-dir",
        join(ws.base, prefix, id),
        "--peers",
        peerList(peers),
        "--listen",
        new URL(peers[id]!).host,
      ]),
    ),
  );
  return peers;
}
