import { loadavg } from "node:os";
import { afterAll, beforeAll, expect, it } from "vitest";
import { bareNodeMs, RestartCluster } from "../bench/restartTimes.js";
import { buildCli } from "./cliHarness.js";

// Issue #12 item 8: a restarted member serves within 300 ms of its process start, and writes
// resume within 0.5 s of restarting two of three members. `pnpm bench restart` holds those
// strict figures (with a pass/fail line). Here each bound adds a multiple of what a bare
// `node -e ""` took in the same run, so it grows with the machine's load instead of failing on
// a busy CI machine; the median of five rounds keeps one unlucky round from deciding.
const SERVE_MS = 300;
const RESUME_MS = 500;
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
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push({ ...(await cluster.round(i)), bareMs: bareNodeMs() });
  const bare = median(rounds.map((r) => r.bareMs));
  const serve = median(rounds.map((r) => r.serveMs));
  const resume = median(rounds.map((r) => r.resumeMs));
  const perRound = rounds.map((r) => [r.serveMs, r.resumeMs, r.bareMs].map(Math.round));
  const report =
    `medians: serve ${Math.round(serve)} ms (bound ${Math.round(SERVE_MS + 3 * bare)}), ` +
    `resume ${Math.round(resume)} ms (bound ${Math.round(RESUME_MS + 6 * bare)}), bare node ${Math.round(bare)} ms; ` +
    `[serve, resume, bare] per round: ${JSON.stringify(perRound)}; ` +
    `load average ${loadavg()[0]!.toFixed(1)}`;
  console.log(`restart e2e: ${report}`);
  expect(serve, report).toBeLessThan(SERVE_MS + 3 * bare);
  expect(resume, report).toBeLessThan(RESUME_MS + 6 * bare);
}, 300_000);
