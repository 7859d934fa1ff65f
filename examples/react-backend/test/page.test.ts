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
    } finally {
      await browser.close();
    }
  });
});
