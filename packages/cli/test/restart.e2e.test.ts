import { cpus, loadavg } from "node:os";
import { afterAll, beforeAll, expect, it } from "vitest";
import { bareNodeMs, RestartCluster } from "../bench/restartTimes.js";
import { buildCli } from "./cliHarness.js";

// Issue #12 item 8: a restarted member serves within 300 ms of its process start, and writes
// resume within 0.5 s of restarting two of three members. `pnpm bench restart` holds those
// strict figures (with a pass/fail line). Here each bound adds a multiple of what a bare
// `node -e ""` took in the same run, so it grows with the machine's load; on a machine busier
// than its cores (a CI machine running the whole suite: load is bursty and a bare start does
// not always feel it) the bounds are at least 1 s and 2 s. The median of five rounds keeps one
// unlucky round from deciding.
const SERVE_MS = 300;
const RESUME_MS = 500;
const BUSY_SERVE_MS = 1_000;
const BUSY_RESUME_MS = 2_000;
const ROUNDS = 5;

let cluster: RestartCluster;
beforeAll(async () => {
  buildCli();
  cluster = new RestartCluster({ deadlineMs: 60_000 });
  await cluster.start();
}, 300_000);
afterAll(async () => {
  await cluster?.close();
});

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

it("a restarted member serves, and writes resume after two of three restart, within the issue's bounds plus load slack", async () => {
  const loadAtStart = loadavg()[0]!;
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push({ ...(await cluster.round(i)), bareMs: bareNodeMs() });
  const bare = median(rounds.map((r) => r.bareMs));
  const serve = median(rounds.map((r) => r.serveMs));
  const resume = median(rounds.map((r) => r.resumeMs));
  const load = Math.max(loadAtStart, loadavg()[0]!);
  const busy = load > cpus().length;
  const serveBound = Math.max(busy ? BUSY_SERVE_MS : 0, SERVE_MS + 3 * bare);
  const resumeBound = Math.max(busy ? BUSY_RESUME_MS : 0, RESUME_MS + 6 * bare);
  const perRound = rounds.map((r) => [r.serveMs, r.resumeMs, r.bareMs].map(Math.round));
  const report =
    `medians: serve ${Math.round(serve)} ms (bound ${Math.round(serveBound)}), ` +
    `resume ${Math.round(resume)} ms (bound ${Math.round(resumeBound)}), bare node ${Math.round(bare)} ms; ` +
    `[serve, resume, bare] per round: ${JSON.stringify(perRound)}; ` +
    `load average up to ${load.toFixed(1)} on ${cpus().length} cores${busy ? " (busy)" : ""}`;
  console.log(`restart e2e: ${report}`);
  expect(serve, report).toBeLessThan(serveBound);
  expect(resume, report).toBeLessThan(resumeBound);
}, 300_000);
