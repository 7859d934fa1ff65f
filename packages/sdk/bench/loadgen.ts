import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** The anchors' closed-loop harness, so raftkit and etcd are driven by exactly the same loop. */
/** RAFTKIT_LOADGEN overrides it: a git worktree is not beside shared/. */
const ANCHOR = process.env.RAFTKIT_LOADGEN ?? join(here, "../../../../shared/anchors/loadgen.mjs");

export interface PhaseResult {
  ops_per_s: number;
  p50_ms: number;
  p99_ms: number;
  errors?: number;
  server_cpu_cores?: number;
  client_cpu_cores?: number;
  [k: string]: unknown;
}

export type RunPhase = (o: {
  concurrency: number;
  seconds: number;
  warmupSeconds?: number;
  op: (worker: number) => Promise<unknown>;
  serverPids?: number[];
}) => Promise<PhaseResult>;

export async function loadRunPhase(): Promise<RunPhase> {
  if (!existsSync(ANCHOR)) {
    throw new Error(
      `the shared load harness is missing at ${ANCHOR}; run the bench from a checkout with shared/ beside it`,
    );
  }
  return ((await import(ANCHOR)) as { runPhase: RunPhase }).runPhase;
}

export function table(rows: { label: string; r: PhaseResult }[]): string {
  const lines = [
    "| phase | ops/s | p50 ms | p99 ms | server CPU (cores) | client CPU (cores) | errors |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const { label, r } of rows) {
    lines.push(
      `| ${label} | ${Math.round(r.ops_per_s).toLocaleString("en-US")} | ${r.p50_ms?.toFixed(2)} | ${r.p99_ms?.toFixed(2)} | ${r.server_cpu_cores?.toFixed?.(2) ?? "-"} | ${r.client_cpu_cores?.toFixed?.(2) ?? "-"} | ${r.errors ?? 0} |`,
    );
  }
  return lines.join("\n");
}
