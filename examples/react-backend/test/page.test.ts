import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Backend, buildPage, startBackend } from "../src/server.js";

// Debian's Chromium (apt-get install chromium); .ci/run installs it. Never a downloaded browser.
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let backend: Backend;
beforeAll(async () => {
  if (!existsSync(executablePath)) {
    throw new Error(
      `no Chromium at ${executablePath}: run apt-get install -y chromium (or set CHROMIUM_PATH)`,
    );
  }
  await buildPage(true);
  backend = await startBackend();
}, 120_000);
afterAll(async () => {
  await backend?.close();
});

describe("examples/react-backend in headless Chromium", () => {
  it("shows the counter, the leader and the commit index live, and the buttons add", {
    timeout: 120_000,
  }, async () => {
    const browser = await chromium.launch({
      executablePath,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(backend.url);
      await page
        .getByTestId("leader")
        .filter({ hasText: /^r[123]$/ })
        .waitFor({ timeout: 30_000 });
      await expect.poll(() => page.getByTestId("value").textContent(), { timeout: 30_000 }).toBe("0");
      const commitBefore = Number(await page.getByTestId("commit").textContent());

      await page.getByRole("button", { name: "+1" }).click();
      await expect.poll(() => page.getByTestId("value").textContent(), { timeout: 30_000 }).toBe("1");
      await page.getByRole("button", { name: "+5" }).click();
      await expect.poll(() => page.getByTestId("value").textContent(), { timeout: 30_000 }).toBe("6");
      await expect
        .poll(async () => Number(await page.getByTestId("commit").textContent()), { timeout: 30_000 })
        .toBeGreaterThan(commitBefore);

      // A change made elsewhere reaches the page without a reload (server-sent events).
      await backend.nodes[1]!.commands.add(10);
      await expect.poll(() => page.getByTestId("value").textContent(), { timeout: 30_000 }).toBe("16");

      // Failover: the leader stops (and restarts as a follower); the page shows the new leader
      // and the buttons keep working.
      const oldLeader = await page.getByTestId("leader").textContent();
      await page.getByRole("button", { name: /Stop the leader/ }).click();
      await expect
        .poll(() => page.getByTestId("leader").textContent(), { timeout: 30_000 })
        .toMatch(new RegExp(`^(?!${oldLeader}$)r[123]$`));
      await page.getByRole("button", { name: "+1" }).click();
      await expect.poll(() => page.getByTestId("value").textContent(), { timeout: 30_000 }).toBe("17");
      await expect.poll(() => page.getByTestId("members").locator("li").count(), { timeout: 30_000 }).toBe(3);
    } finally {
      await browser.close();
    }
  });
});

describe("examples/react-backend's main", () => {
  it("stops cleanly on SIGTERM and removes its data", { timeout: 120_000 }, async () => {
    const { spawn } = await import("node:child_process");
    const { existsSync: exists } = await import("node:fs");
    const child = spawn(
      process.execPath,
      ["--conditions=@raftkit/source", "--import", "tsx", "src/main.ts"],
      {
        cwd: new URL("..", import.meta.url).pathname,
        env: { ...process.env, PORT: "0" },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    await expect.poll(() => out, { timeout: 60_000 }).toMatch(/data in (\S+)\n/);
    const dataDir = /data in (\S+)\n/.exec(out)![1]!;
    expect(exists(dataDir)).toBe(true);
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(exists(dataDir)).toBe(false);
  });
});
