import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * The counter's nodes as child processes (`node --import tsx src/node.ts …`; node itself, so a
 * SIGKILL really kills the node). Used by the example, the demo and their tests.
 */
export class NodeProcesses {
  readonly secret = "counter-example-secret";
  readonly procs = new Map<string, ChildProcess>();
  readonly logs = new Map<string, string[]>();

  private constructor(
    readonly ids: string[],
    readonly peers: Record<string, string>,
    readonly dataDir: string,
    readonly tickMs: number,
  ) {}

  static async start(ids: string[], dataDir: string, tickMs = 100): Promise<NodeProcesses> {
    const peers: Record<string, string> = {};
    for (const id of ids) peers[id] = `http://127.0.0.1:${await freePort()}`;
    const c = new NodeProcesses(ids, peers, dataDir, tickMs);
    await Promise.all(ids.map((id) => c.startOne(id)));
    return c;
  }

  apiUrl(id: string): string {
    return `${this.peers[id]}/raftkit`;
  }

  apiUrls(): string[] {
    return this.ids.map((id) => this.apiUrl(id));
  }

  /** Starts (or restarts) `id` and resolves once it serves. */
  startOne(id: string): Promise<void> {
    const peerList = Object.entries(this.peers)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const proc = spawn(
      process.execPath,
      [
        "--conditions=@raftkit/source",
        "--import",
        "tsx",
        join(here, "node.ts"),
        id,
        peerList,
        join(this.dataDir, id),
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, RAFTKIT_SECRET: this.secret, RAFTKIT_TICK_MS: String(this.tickMs) },
      },
    );
    this.procs.set(id, proc);
    const log = this.logs.get(id) ?? [];
    this.logs.set(id, log);
    proc.stderr!.on("data", (d: Buffer) => log.push(d.toString()));
    return new Promise((resolve, reject) => {
      let out = "";
      proc.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("\n")) resolve();
      });
      proc.once("exit", (code) => {
        if (!out.includes("\n"))
          reject(new Error(`node ${id} exited (${code}) before serving:\n${log.join("")}`));
      });
    });
  }

  /** SIGKILLs `id` and waits until it is gone. */
  async kill(id: string): Promise<void> {
    const p = this.procs.get(id);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await gone;
  }

  /** GET /raftkit/status of `id`, or null when it does not answer. */
  async status(
    id: string,
  ): Promise<{ role: string; leader: string | null; term: number; commit: number; applied: number } | null> {
    try {
      const res = await fetch(`${this.apiUrl(id)}/status`, {
        headers: { authorization: `Bearer ${this.secret}` },
        signal: AbortSignal.timeout(1_000),
      });
      return res.ok
        ? ((await res.json()) as {
            role: string;
            leader: string | null;
            term: number;
            commit: number;
            applied: number;
          })
        : null;
    } catch {
      return null;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.procs.entries()].map(async ([, p]) => {
        if (p.exitCode !== null || p.signalCode !== null) return;
        const gone = new Promise((r) => p.once("exit", r));
        p.kill("SIGTERM");
        const timer = setTimeout(() => p.kill("SIGKILL"), 5_000);
        await gone;
        clearTimeout(timer);
      }),
    );
  }
}
