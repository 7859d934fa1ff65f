/**
 * `pnpm bench restart`: how soon a restarted member of the compiled `raftkit start` serves,
 * and how soon writes resume after two of three members are killed and restarted, with lease
 * reads off (the default) and on. Builds every package first (`pnpm build`).
 *
 * Env: BENCH_RUNS (default 10); BENCH_COMPARE, the packages/cli directory of another checkout
 * (already built), whose members are timed too, in the same interleaved runs (before/after).
 */
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bareNodeMs, RestartCluster } from "./restartTimes.js";

const runs = Number(process.env.BENCH_RUNS ?? 10);
const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");
execFileSync(process.execPath, [join(root, "scripts/build.mjs")], { stdio: "inherit" });

const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");
const stat = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)]!.toFixed(0).padStart(5)} ms, max ${s.at(-1)!.toFixed(0).padStart(5)} ms`;
};

const compare = process.env.BENCH_COMPARE;
const variants = [
  { label: "lease reads off (default)", cluster: new RestartCluster() },
  { label: "leaseReads: true", cluster: new RestartCluster({ raft: { leaseReads: true } }) },
  ...(compare
    ? [
        { label: "BENCH_COMPARE, default", cluster: new RestartCluster({ cliDir: compare }) },
        {
          label: "BENCH_COMPARE, leaseReads",
          cluster: new RestartCluster({ cliDir: compare, raft: { leaseReads: true } }),
        },
      ]
    : []),
];
const bare: number[] = [];
const times = variants.map(() => ({ serveMs: [] as number[], resumeMs: [] as number[] }));
console.log(`node ${process.version}, ${cpus().length} cores, load average ${load()} (1/5/15 min)`);
try {
  for (const v of variants) await v.cluster.start();
  // Interleaved, so that both variants and the baseline see the same load.
  for (let i = 0; i < runs; i++) {
    bare.push(bareNodeMs());
    for (const [k, v] of variants.entries()) {
      const r = await v.cluster.round(i);
      times[k]!.serveMs.push(r.serveMs);
      times[k]!.resumeMs.push(r.resumeMs);
    }
  }
} finally {
  for (const v of variants) await v.cluster.close();
}
console.log(`${runs} runs each; load average at the end ${load()}`);
console.log(`baseline: bare node starts and exits            ${stat(bare)}`);
for (const [k, v] of variants.entries()) {
  console.log(`${v.label.padEnd(26)} restarted member serves  ${stat(times[k]!.serveMs)}`);
  console.log(`${v.label.padEnd(26)} writes resume (2 of 3)   ${stat(times[k]!.resumeMs)}`);
}
