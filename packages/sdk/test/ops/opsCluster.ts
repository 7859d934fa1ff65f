import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../bench/freePort.js";
import { defineMachine } from "../../src/defineMachine.js";
import type { PinoLike } from "../../src/logging.js";
import { type RaftkitNode, type StartNodeOptions, startNode } from "../../src/startNode.js";

export const counter = defineMachine({
  initial: () => ({ n: 0 }),
  commands: { add: (s, by: number) => (s.n += by) },
  queries: { value: (s) => s.n },
});

export const SECRET = "ops-test-secret";

/** One log record as a pino logger would write it. */
export interface LogRecord {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** A pino-like logger that keeps its records (with bindings) in `records`. */
export function captureLogger(records: LogRecord[], bindings: Record<string, unknown> = {}): PinoLike {
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, msg: string): void => {
      records.push({ ...bindings, ...fields, level, msg });
    };
  return {
    debug: () => {},
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (more) => captureLogger(records, { ...bindings, ...more }),
  };
}

/** Polls `cond` every 20 ms until it holds, or throws after `ms`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("condition not met within the deadline");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** 3 nodes started with startNode in this process, talking over real HTTP on 127.0.0.1. */
export class OpsCluster {
  readonly nodes: RaftkitNode<typeof counter>[] = [];
  readonly records: LogRecord[] = [];
  readonly #dir = mkdtempSync(join(tmpdir(), "raftkit-ops-"));

  async start(
    extra: Partial<StartNodeOptions<typeof counter>> = {},
    ids = ["o1", "o2", "o3"],
  ): Promise<this> {
    const peers: Record<string, string> = {};
    for (const id of ids) peers[id] = `http://127.0.0.1:${await freePort()}`;
    for (const id of ids) {
      this.nodes.push(
        await startNode({
          machine: counter,
          id,
          peers,
          dataDir: join(this.#dir, id),
          secret: SECRET,
          listen: { port: Number(new URL(peers[id]!).port) },
          raft: { tickMs: 50 },
          logger: captureLogger(this.records),
          ...extra,
        }),
      );
    }
    await waitFor(() => this.leader() !== undefined);
    return this;
  }

  leader(): RaftkitNode<typeof counter> | undefined {
    return this.nodes.find((n) => n.status().role === "leader");
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
