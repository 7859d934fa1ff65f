import { afterEach, describe, expect, it } from "vitest";
import { OpsCluster, waitFor } from "./opsCluster.js";

let cluster: OpsCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

describe("structured logs", () => {
  it("record leader changes, membership, snapshots, slow fsyncs and refused requests, each with node and term", {
    timeout: 60_000,
  }, async () => {
    cluster = await new OpsCluster().start({
      slowFsyncMs: 0, // every fsync counts as slow here
      raft: { tickMs: 50, snapshotEntries: 10, snapshotCatchUpEntries: 2 },
    });
    const leader = cluster.leader()!;
    for (let i = 0; i < 15; i++) await leader.commands.add(1);
    expect((await fetch(`${leader.apiUrl}/status`)).status).toBe(401);
    const records = cluster.records;
    const has = (event: string, node = leader.id) =>
      records.some((r) => r.event === event && r.node === node);
    await waitFor(() => has("snapshot") && has("refused") && has("slowFsync"));
    expect(has("leaderChanged")).toBe(true);
    expect(has("membership")).toBe(true);
    for (const r of records) {
      expect(r.node, r.msg).toMatch(/^o[123]$/);
      expect(typeof r.msg).toBe("string");
    }
    const change = records.find((r) => r.event === "leaderChanged" && r.node === leader.id)!;
    expect(change).toMatchObject({ level: "info", leader: leader.id });
    expect(typeof change.term).toBe("number");
    expect(records.find((r) => r.event === "refused")).toMatchObject({
      level: "warn",
      path: "/raftkit/status",
    });
    expect(records.find((r) => r.event === "slowFsync")).toMatchObject({ level: "warn" });

    // A graceful stop of the leader is logged, and the others log the new leader.
    await leader.stop();
    expect(records.some((r) => r.event === "handOver" && r.node === leader.id)).toBe(true);
    await waitFor(() =>
      records.some((r) => r.event === "leaderChanged" && r.node !== leader.id && r.leader !== leader.id),
    );
  });

  it("the default logger writes pino JSON lines at info", { timeout: 30_000 }, async () => {
    const { spawnSync } = await import("node:child_process");
    const script = `
      import { coreLogger, nodeLogger } from "./src/logging.ts";
      const log = coreLogger(nodeLogger("n9", undefined, undefined), () => 7);
      log.debug("hidden"); log.info("node n9: hello", { event: "x", index: 3 });`;
    const out = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: new URL("../..", import.meta.url).pathname,
      env: { ...process.env, RAFTKIT_LOG_LEVEL: "" },
      encoding: "utf8",
    });
    const lines = out.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 30,
      node: "n9",
      term: 7,
      event: "x",
      index: 3,
      msg: "node n9: hello",
    });
    expect(typeof JSON.parse(lines[0]!).time).toBe("number");
  });
});
