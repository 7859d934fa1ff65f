import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openFileStorage } from "@raftkit/store-fs";
import { describe, expect, it } from "vitest";
import { freePort, MACHINE, useWorkspace, waitFor } from "./cliHarness.js";

const ws = useWorkspace();

/** Starts a one-member cluster `id` in `dir` with raftkit start and stops it, leaving a used data directory. */
async function runOnce(id: string, dir: string): Promise<{ peers: string; listen: string }> {
  const port = await freePort();
  const args = { peers: `${id}=http://127.0.0.1:${port}`, listen: `127.0.0.1:${port}` };
  await ws.start(`${id}-once`, [
    "--machine",
    MACHINE,
    "--id",
    id,
    "--data-dir",
    dir,
    "--peers",
    args.peers,
    "--listen",
    args.listen,
  ]);
  await waitFor(
    "a leader",
    async () => (await ws.run(["status", "--endpoints", `http://${args.listen}`])).code === 0,
  );
  expect(await ws.stop(`${id}-once`)).toBe(0);
  return args;
}

describe("raftkit check", () => {
  it("exits 0 on a sound directory and 4 naming the file and offset on a corrupted one", async () => {
    const dir = join(ws.base, "c1");
    await runOnce("c1", dir);
    const good = await ws.run(["check", dir, "-o", "json"]);
    expect(good.code, good.stderr).toBe(0);
    const report = JSON.parse(good.stdout) as {
      ok: boolean;
      lastIndex: number;
      identity: unknown;
      segments: unknown[];
    };
    expect(report).toMatchObject({ ok: true, identity: { nodeId: "c1", clusterId: "raftkit" } });
    expect(report.lastIndex).toBeGreaterThan(0);

    const segment = join(dir, readdirSync(dir).find((n) => n.endsWith(".wal"))!);
    const bytes = readFileSync(segment);
    // The header's magic: damage no crash can leave.
    bytes[2] = bytes[2]! ^ 0xff;
    writeFileSync(segment, bytes);
    const bad = await ws.run(["check", dir]);
    expect(bad.code).toBe(4);
    expect(bad.stdout).toContain("CORRUPT");
    expect(bad.stdout).toMatch(
      new RegExp(`PROBLEM: ${segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} at byte \\d+`),
    );
  }, 60_000);
});

describe("raftkit start's ready line", () => {
  it("says how long the start took, and a SIGTERM sent the moment it is read stops the node cleanly", async () => {
    const port = await freePort();
    const args = ["--machine", MACHINE, "--id", "r1", "--data-dir", join(ws.base, "r1")];
    args.push("--peers", `r1=http://127.0.0.1:${port}`, "--listen", `127.0.0.1:${port}`, "--verbose");
    // The ready line used to be printed before the signal handlers were installed: a supervisor
    // signalling at once ended the process by the signal, its directory lock left behind.
    for (let i = 0; i < 5; i++) {
      const line = await ws.start(`r1-${i}`, args);
      expect(line).toMatch(/ready: .* \(\d+ ms after the process started\)$/);
      expect(await ws.stop(`r1-${i}`)).toBe(0);
    }
    const log = ws.logs.get("r1-4")!.join("");
    expect(log).not.toContain("taking over the lock");
    expect(log).toMatch(/"event":"started","startupMs":\{"total":\d+,"nodejs":\d+,"code":\d+/);
  }, 60_000);
});

describe("raftkit start refuses what cannot work, and leaves nothing behind", () => {
  it("another node's data directory: exit 1 naming both", async () => {
    const dir = join(ws.base, "d1");
    const { peers, listen } = await runOnce("d1", dir);
    const p = ws.start("d2-wrong", [
      "--machine",
      MACHINE,
      "--id",
      "d2",
      "--data-dir",
      dir,
      "--peers",
      peers.replace("d1=", "d2="),
      "--listen",
      listen,
    ]);
    await expect(p).rejects.toThrow(
      /exited with 1 before ready:[\s\S]*belongs to node d1 of cluster "raftkit", not to node d2/,
    );
    // The lock was released: the storage opens at once.
    const s = await openFileStorage(dir);
    await s.close();
  }, 60_000);

  it("bad options: exit 2 with the option named", async () => {
    const port = await freePort();
    const base = [
      "start",
      "--machine",
      MACHINE,
      "--data-dir",
      join(ws.base, "e1"),
      "--listen",
      `127.0.0.1:${port}`,
    ];
    const missingSelf = await ws.run([...base, "--id", "e1", "--peers", `e2=http://127.0.0.1:${port}`]);
    expect(missingSelf.code).toBe(2);
    expect(missingSelf.stderr).toMatch(/peers\.e1: peers must include this node's own URL/);
    const noSecret = await ws.run([...base, "--id", "e1", "--peers", `e1=http://127.0.0.1:${port}`], {
      RAFTKIT_SECRET: "",
    });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/no secret: give --secret-file/);
    const badFlag = await ws.run(["status", "--secret", "x"]);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/Unknown option '--secret'/);
  }, 60_000);

  it("status with no member answering: exit 3", async () => {
    const r = await ws.run(["status", "--endpoints", `http://127.0.0.1:${await freePort()}`]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/no endpoint answered/);
  }, 30_000);
});
