import { afterEach, describe, expect, it } from "vitest";
import { OpsCluster, waitFor } from "./opsCluster.js";

let cluster: OpsCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

const get = async (url: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe("GET /raftkit/health and /raftkit/ready", () => {
  it("answer 200 without the secret while a leader applies, and 503 with the reason once it is lost", {
    timeout: 90_000,
  }, async () => {
    cluster = await new OpsCluster().start();
    for (const n of cluster.nodes) {
      await waitFor(async () => (await get(`${n.apiUrl}/health`)).status === 200);
      const ready = await get(`${n.apiUrl}/ready`);
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ ready: true, node: n.id });
    }
    // Stop the leader and one more: the last node cannot have a leader any more.
    const leader = cluster.leader()!;
    const last = cluster.nodes.find((n) => n !== leader)!;
    await leader.stop();
    await cluster.nodes.find((n) => n !== leader && n !== last)!.stop();
    await waitFor(async () => (await get(`${last.apiUrl}/health`)).status === 503);
    const health = await get(`${last.apiUrl}/health`);
    expect(health.body).toMatchObject({ health: false, reason: "no leader", node: last.id });
    const ready = await get(`${last.apiUrl}/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ ready: false, reason: "no leader" });
  });

  it("/ready fails when a ReadIndex round cannot complete in time though a leader is still known", {
    timeout: 90_000,
  }, async () => {
    cluster = await new OpsCluster().start({ readyTimeoutMs: 200 });
    const leader = cluster.leader()!;
    const followers = cluster.nodes.filter((n) => n !== leader);
    // Without its peers the leader keeps its role until check-quorum, but no read is confirmed.
    await Promise.all(followers.map((f) => f.stop()));
    const ready = await get(`${leader.apiUrl}/ready`);
    expect(ready.status).toBe(503);
    expect(String(ready.body.reason)).toMatch(/no leader|did not complete/);
  });
});
