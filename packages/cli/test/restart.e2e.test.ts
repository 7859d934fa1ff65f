import { afterAll, beforeAll, expect, it } from "vitest";
import { bareNodeMs, RestartCluster } from "../bench/restartTimes.js";
import { buildCli } from "./cliHarness.js";

// Issue #12 item 8 wants 300 ms and 0.5 s on an idle machine (`pnpm bench restart` measures
// them); these bounds are loose enough for a heavily loaded one: each adds three times what a
// bare `node -e ""` took in the same run, so they grow with the load.
const SERVE_MS = 3_000;
const RESUME_MS = 5_000;

let cluster: RestartCluster;
beforeAll(async () => {
  buildCli();
  cluster = new RestartCluster({ deadlineMs: 60_000 });
  await cluster.start();
}, 300_000);
afterAll(async () => {
  await cluster?.close();
});

it("a restarted member serves, and writes resume after two of three restart, within the bounds", async () => {
  const rounds = [];
  for (let i = 0; i < 3; i++) rounds.push({ ...(await cluster.round(i)), bareMs: bareNodeMs() });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
  const slack = 3 * median(rounds.map((r) => r.bareMs));
  const report = JSON.stringify(rounds.map((r) => Object.values(r).map(Math.round)));
  expect(median(rounds.map((r) => r.serveMs)), `[serve, resume, bare node] ms: ${report}`).toBeLessThan(
    SERVE_MS + slack,
  );
  expect(median(rounds.map((r) => r.resumeMs)), `[serve, resume, bare node] ms: ${report}`).toBeLessThan(
    RESUME_MS + slack,
  );
}, 300_000);
