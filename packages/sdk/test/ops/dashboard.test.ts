import { existsSync, mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpsCluster, SECRET, waitFor } from "./opsCluster.js";

// Debian's Chromium (apt-get install chromium); never a downloaded browser.
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const artifacts = new URL("../artifacts/", import.meta.url).pathname;

let cluster: OpsCluster;
beforeAll(async () => {
  if (!existsSync(executablePath))
    throw new Error(
      `no Chromium at ${executablePath}: run apt-get install -y chromium (or set CHROMIUM_PATH)`,
    );
  cluster = await new OpsCluster().start();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

describe("the dashboard at /raftkit/dashboard, in headless Chromium", () => {
  it("asks for the secret, shows members and commits live, and a leader change after the leader stops", {
    timeout: 120_000,
  }, async () => {
    const browser = await chromium.launch({
      executablePath,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
      ],
    });
    const outside: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on("request", (r) => {
        if (!r.url().startsWith("http://127.0.0.1:")) outside.push(r.url());
      });
      const oldLeader = cluster.leader()!;
      const viewer = cluster.nodes.find((n) => n !== oldLeader)!;
      await page.goto(`${viewer.apiUrl}/dashboard`);
      await page.getByTestId("secret").fill(SECRET);
      await page.getByRole("button", { name: "Open" }).click();

      await expect
        .poll(() => page.getByTestId("leader").textContent(), { timeout: 20_000 })
        .toBe(oldLeader.id);
      await expect.poll(() => page.getByTestId("health").textContent(), { timeout: 20_000 }).toBe("ok");
      for (const n of cluster.nodes) await page.getByTestId(`member-${n.id}`).waitFor({ timeout: 20_000 });
      await expect
        .poll(() => page.getByTestId(`member-${oldLeader.id}`).locator("td").nth(1).textContent(), {
          timeout: 20_000,
        })
        .toBe("leader");

      // A command shows up in the recent commits, over the event stream.
      await viewer.commands.add(5);
      await expect
        .poll(() => page.getByTestId("commits").textContent(), { timeout: 20_000 })
        .toContain("add");
      for (let i = 0; i < 30; i++) await viewer.commands.add(1);

      // The leader stops: the page highlights the change.
      await oldLeader.stop();
      await waitFor(() => viewer.status().leader !== null && viewer.status().leader !== oldLeader.id);
      const newLeader = viewer.status().leader!;
      await expect.poll(() => page.getByTestId("leader").textContent(), { timeout: 20_000 }).toBe(newLeader);
      await expect
        .poll(() => page.getByTestId("leader-changes").locator("li").first().getAttribute("data-leader"), {
          timeout: 20_000,
        })
        .toBe(newLeader);
      await expect
        .poll(() => page.getByTestId(`member-${oldLeader.id}`).textContent(), { timeout: 20_000 })
        .toContain("unreachable");
      for (let i = 0; i < 20; i++) await viewer.commands.add(1);
      // Let the charts gather a few more points for the screenshot.
      const samples = async () => Number(await page.locator("body").getAttribute("data-samples"));
      const drawn = await samples();
      await expect.poll(samples, { timeout: 20_000 }).toBeGreaterThanOrEqual(drawn + 2);
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: `${artifacts}dashboard.png`, fullPage: true });
      expect(outside).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
