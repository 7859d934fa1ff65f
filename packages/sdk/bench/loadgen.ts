import { join } from "node:path";
import { findAnchors } from "./anchors.js";

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

/** The anchors' closed-loop harness, so raftkit and etcd are driven by exactly the same loop. */
export async function loadRunPhase(): Promise<RunPhase> {
  const anchors = findAnchors();
  if (anchors === null) {
    throw new Error(
      "the shared load harness (shared/anchors/loadgen.mjs) is missing: run the bench from a checkout with shared/ in a directory above it, or set RAFTKIT_ANCHORS to that anchors directory",
    );
  }
  return ((await import(join(anchors, "loadgen.mjs"))) as { runPhase: RunPhase }).runPhase;
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
