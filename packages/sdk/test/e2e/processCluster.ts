import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";
import { createClient } from "../../src/createClient.js";
import type { testMachine } from "./testMachine.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../../../..");
const nodeArgs = ["--conditions=@raftkit/source", "--import", "tsx"];

export const SECRET = "e2e-secret";

/** A free TCP port on 127.0.0.1 (bound and released; the race with other processes is accepted in tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `cond` until it holds; fails after `ms` with `what` in the message. Never a fixed sleep. */
export async function waitFor<T>(
  what: string,
  cond: () => Promise<T | undefined | false> | T | undefined | false,
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
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`,
  );
}

interface Member {
  id: string;
  port: number;
  dataDir: string;
  proc: ChildProcess | null;
  stderr: string[];
}

/** Real node processes on 127.0.0.1, each with its own data directory. */
export class ProcessCluster {
  readonly members = new Map<string, Member>();
  readonly base = mkdtempSync(join(tmpdir(), "raftkit-e2e-"));
  peers: Record<string, string> = {};
  readonly options: { tickMs?: number; snapshotEntries?: number; snapshotCatchUpEntries?: number };

  constructor(options: { tickMs?: number; snapshotEntries?: number; snapshotCatchUpEntries?: number } = {}) {
    this.options = options;
  }

  async define(ids: string[]): Promise<void> {
    for (const id of ids) {
      const port = await freePort();
      this.members.set(id, { id, port, dataDir: join(this.base, id), proc: null, stderr: [] });
      this.peers[id] = `http://127.0.0.1:${port}`;
    }
  }

  /** Starts `id`'s process and waits for its ready line. Resolves with that line. */
  async start(
    id: string,
    extra: { join?: boolean; peers?: Record<string, string>; code?: 1 | 2 } = {},
  ): Promise<{ ready: boolean; error?: string; code?: string }> {
    const m = this.members.get(id)!;
    const config = {
      id,
      peers: extra.peers ?? this.peers,
      dataDir: m.dataDir,
      port: m.port,
      secret: SECRET,
      ...this.options,
      ...(extra.join !== undefined && { join: extra.join }),
      ...(extra.code !== undefined && { code: extra.code }),
    };
    // node itself, not the tsx CLI: the CLI runs the script in a child process, which a SIGKILL would orphan.
    const proc = spawn(
      process.execPath,
      [...nodeArgs, join(here, "nodeProcess.ts"), JSON.stringify(config)],
      {
        stdio: ["ignore", "pipe", "pipe"],
        cwd: root,
      },
    );
    m.proc = proc;
    proc.stderr!.on("data", (d: Buffer) => {
      m.stderr.push(d.toString());
      if (m.stderr.length > 200) m.stderr.shift();
    });
    return new Promise((resolve, reject) => {
      let buf = "";
      const onData = (d: Buffer): void => {
        buf += d.toString();
        const nl = buf.indexOf("\n");
        if (nl < 0) return;
        proc.stdout!.off("data", onData);
        resolve(JSON.parse(buf.slice(0, nl)));
      };
      proc.stdout!.on("data", onData);
      proc.once("exit", (code) => {
        if (!buf.includes("\n"))
          reject(new Error(`node ${id} exited with ${code} before ready: ${m.stderr.join("").slice(-2000)}`));
      });
    });
  }

  async startAll(): Promise<void> {
    await Promise.all([...this.members.keys()].map((id) => this.start(id)));
  }

  /** Sends `signal` to `id`'s process; for SIGKILL/SIGTERM waits until it is gone. */
  async signal(id: string, signal: NodeJS.Signals): Promise<void> {
    const proc = this.members.get(id)!.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise((r) => proc.once("exit", r));
    proc.kill(signal);
    if (signal === "SIGKILL" || signal === "SIGTERM") await gone;
  }

  client(
    ids: string[] = [...this.members.keys()],
    o: { timeoutMs?: number; requestTimeoutMs?: number } = {},
  ) {
    return createClient<typeof testMachine>({
      endpoints: ids.map((id) => `${this.peers[id]}/raftkit`),
      secret: SECRET,
      ...o,
    });
  }

  /** GET /raftkit/status of `id`, or undefined if it does not answer. */
  async status(id: string): Promise<
    | {
        role: string;
        leader: string | null;
        term: number;
        commit: number;
        applied: number;
        membership: { voters: string[]; learners: string[] };
        stopped: boolean;
        stoppedReason: string | null;
        machineVersion: number;
        supportsMachineVersion: number;
      }
    | undefined
  > {
    try {
      const res = await fetch(`${this.peers[id]}/raftkit/status`, {
        headers: { authorization: `Bearer ${SECRET}` },
        signal: AbortSignal.timeout(2_000),
      });
      return res.ok ? ((await res.json()) as Awaited<ReturnType<ProcessCluster["status"]>>) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The id that a majority of the given live members see as leader. */
  async leader(ids: string[] = [...this.members.keys()]): Promise<string | undefined> {
    const statuses = await Promise.all(ids.map((id) => this.status(id)));
    const lead = statuses.find((s) => s?.role === "leader");
    return lead ? ids[statuses.indexOf(lead)] : undefined;
  }

  /** POST /raftkit/cluster/<op> on `via` (addVoter, addLearner, promote, remove, transfer); resolves with the HTTP status and body. */
  async admin(
    via: string,
    op: string,
    body: { id: string; address?: string; newId?: string },
  ): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.peers[via]}/raftkit/cluster/${op}`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
      body: JSON.stringify({ json: body }),
    });
    return { status: res.status, body: await res.json() };
  }

  /** GET /raftkit/members of `id`: the configuration and the members published through the log. */
  async membership(
    id: string,
  ): Promise<{ membership: { voters: string[]; learners: string[] }; published: Record<string, unknown> }> {
    const res = await fetch(`${this.peers[id]}/raftkit/members`, {
      headers: { authorization: `Bearer ${SECRET}` },
    });
    return (await res.json()) as Awaited<ReturnType<ProcessCluster["membership"]>>;
  }

  logs(id: string): string {
    return this.members.get(id)!.stderr.join("");
  }

  async stop(): Promise<void> {
    await Promise.all([...this.members.keys()].map((id) => this.signal(id, "SIGKILL")));
    rmSync(this.base, { recursive: true, force: true });
  }
}

/**
 * For a test file: makes a ProcessCluster for the running test and stops it after that test,
 * passed or failed, so no node process outlives its test.
 */
export function clusterPerTest(): (
  options?: ConstructorParameters<typeof ProcessCluster>[0],
) => ProcessCluster {
  let current: ProcessCluster | null = null;
  afterEach(async () => {
    await current?.stop();
    current = null;
  });
  return (options) => {
    current = new ProcessCluster(options);
    return current;
  };
}
