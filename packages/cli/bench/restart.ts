/**
 * `pnpm bench restart`: how soon a restarted member of the compiled `raftkit start` serves,
 * and how soon writes resume after two of three members are killed and restarted, with lease
 * reads off (the default) and on. Builds every package first (`pnpm build`).
 *
 * Prints each figure's median and max, the phases as the members logged them, a bare `node`
 * start as the baseline (also without NODE_EXTRA_CA_CERTS when it is set), and a pass/fail line
 * for issue #12's targets: serving within 300 ms, writes resuming within 0.5 s.
 *
 * Env: BENCH_RUNS (default 10); BENCH_COMPARE, the packages/cli directory of another checkout
 * (already built), whose members are timed too, in the same interleaved runs (before/after).
 */
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bareNodeMs, RestartCluster, type RestartRound } from "./restartTimes.js";

const runs = Number(process.env.BENCH_RUNS ?? 10);
const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");
execFileSync(process.execPath, [join(root, "scripts/build.mjs")], { stdio: "inherit" });

const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");

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
const bareNoCa: number[] = [];
const rounds = variants.map((): RestartRound[] => []);
console.log(`node ${process.version}, ${cpus().length} cores, load average ${load()} (1/5/15 min)`);
try {
  for (const v of variants) await v.cluster.start();
  // Interleaved, so that every variant and the baselines see the same load.
  for (let i = 0; i < runs; i++) {
    bare.push(bareNodeMs());
    if (process.env.NODE_EXTRA_CA_CERTS) bareNoCa.push(bareNodeMs({ NODE_EXTRA_CA_CERTS: undefined }));
    for (const [k, v] of variants.entries()) rounds[k]!.push(await v.cluster.round(i));
  }
} finally {
  for (const v of variants) await v.cluster.close();
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const stat = (xs: number[]): string =>
  `median ${median(xs).toFixed(0).padStart(5)} ms, max ${Math.max(...xs)
    .toFixed(0)
    .padStart(5)} ms`;
/** The median of each phase over the rounds that report it, e.g. "node.js 120, code 150". */
const phases = (parts: [string, (number | undefined)[]][]): string =>
  parts
    .map(([name, xs]) => [name, xs.filter((x) => x !== undefined)] as const)
    .filter(([, xs]) => xs.length > 0)
    .map(([name, xs]) => `${name} ${median(xs).toFixed(0)}`)
    .join(", ");

console.log(`${runs} runs each; load average at the end ${load()}`);
console.log(`baseline: bare node starts and exits            ${stat(bare)}`);
if (bareNoCa.length > 0)
  console.log(`baseline: the same without NODE_EXTRA_CA_CERTS  ${stat(bareNoCa)} (it is set here)`);
for (const [k, v] of variants.entries()) {
  const r = rounds[k]!;
  const serve = phases([
    ["node.js", r.map((x) => x.serveStartup?.nodejs)],
    ["loading raftkit", r.map((x) => x.serveStartup?.code)],
    ["the machine", r.map((x) => x.serveStartup?.machine)],
    ["starting", r.map((x) => x.serveStartup?.start)],
  ]);
  const resume = phases([
    ["first of the two ready", r.map((x) => x.resumeFirstReadyMs)],
    ["a leader known", r.map((x) => x.resumeLeaderMs)],
  ]);
  console.log(`${v.label.padEnd(26)} restarted member serves  ${stat(r.map((x) => x.serveMs))}`);
  if (serve) console.log(`${"".padEnd(26)}   as it measured itself: ${serve} (medians, ms)`);
  console.log(`${v.label.padEnd(26)} writes resume (2 of 3)   ${stat(r.map((x) => x.resumeMs))}`);
  if (resume) console.log(`${"".padEnd(26)}   after the spawn: ${resume} (medians, ms)`);
}
// Issue #12's targets, for the default configuration.
const serveMedian = median(rounds[0]!.map((x) => x.serveMs));
const resumeMedian = median(rounds[0]!.map((x) => x.resumeMs));
const verdict = (ok: boolean): string => (ok ? "PASS" : "FAIL");
console.log(
  `target: a restarted member serves within 300 ms: ${verdict(serveMedian <= 300)} (median ${serveMedian.toFixed(0)} ms)`,
);
console.log(
  `target: writes resume within 500 ms of restarting two of three: ${verdict(resumeMedian <= 500)} (median ${resumeMedian.toFixed(0)} ms)`,
);
