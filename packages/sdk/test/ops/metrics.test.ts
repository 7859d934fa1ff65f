import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "../../src/createClient.js";
import { type counter, OpsCluster, SECRET, waitFor } from "./opsCluster.js";
import { type Family, parsePrometheusText } from "./promText.js";

let cluster: OpsCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

async function scrape(apiUrl: string, secret?: string): Promise<Map<string, Family>> {
  const res = await fetch(
    `${apiUrl}/metrics`,
    secret ? { headers: { authorization: `Bearer ${secret}` } } : {},
  );
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

const value = (f: Map<string, Family>, name: string, labels: Record<string, string> = {}): number =>
  (f.get(name) ?? f.get(name.replace(/_(bucket|sum|count)$/, "")))?.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0) ?? Number.NaN;

describe("GET /raftkit/metrics", () => {
  it("serves every raftkit metric in Prometheus text format, labelled with the node and peers", {
    timeout: 60_000,
  }, async () => {
    cluster = await new OpsCluster().start();
    const leader = cluster.leader()!;
    const follower = cluster.nodes.find((n) => n !== leader)!;
    for (let i = 0; i < 20; i++) await follower.commands.add(1);
    const client = createClient<typeof counter>({ endpoints: [follower.apiUrl], secret: SECRET });
    await client.query.value();
    await follower.query.value(undefined, { consistency: "stale" });

    const f = await scrape(follower.apiUrl); // no secret needed by default
    const expected: Record<string, string> = {
      raftkit_has_leader: "gauge",
      raftkit_leader_changes_total: "counter",
      raftkit_term: "gauge",
      raftkit_commit_index: "gauge",
      raftkit_applied_index: "gauge",
      raftkit_proposals_committed_total: "counter",
      raftkit_proposals_pending: "gauge",
      raftkit_proposals_failed_total: "counter",
      raftkit_wal_fsync_duration_seconds: "histogram",
      raftkit_wal_entries_per_fsync: "histogram",
      raftkit_apply_duration_seconds: "histogram",
      raftkit_peer_round_trip_seconds: "histogram",
      raftkit_peer_sent_bytes_total: "counter",
      raftkit_peer_received_bytes_total: "counter",
      raftkit_snapshot_duration_seconds: "histogram",
      raftkit_reads_total: "counter",
      raftkit_event_loop_lag_seconds: "gauge",
    };
    for (const [name, type] of Object.entries(expected)) expect(f.get(name)?.type, name).toBe(type);
    for (const [name, family] of f) {
      if (!name.startsWith("raftkit_")) continue;
      for (const s of family.samples) expect(s.labels.node, `${s.name} has node="o.."`).toBe(follower.id);
    }
    expect(value(f, "raftkit_has_leader")).toBe(1);
    expect(value(f, "raftkit_leader_changes_total")).toBeGreaterThanOrEqual(1);
    expect(value(f, "raftkit_term")).toBe(follower.status().term);
    expect(value(f, "raftkit_commit_index")).toBeGreaterThanOrEqual(20);
    expect(value(f, "raftkit_applied_index")).toBeGreaterThanOrEqual(20);
    expect(value(f, "raftkit_proposals_committed_total")).toBeGreaterThanOrEqual(20);
    expect(value(f, "raftkit_proposals_pending")).toBe(0);
    expect(value(f, "raftkit_wal_fsync_duration_seconds_count")).toBeGreaterThan(0);
    expect(value(f, "raftkit_wal_entries_per_fsync_sum")).toBeGreaterThanOrEqual(20);
    expect(value(f, "raftkit_apply_duration_seconds_count")).toBeGreaterThan(0);
    expect(value(f, "raftkit_reads_total", { consistency: "linearizable" })).toBe(1);
    expect(value(f, "raftkit_reads_total", { consistency: "stale" })).toBe(1);
    expect(value(f, "raftkit_peer_sent_bytes_total", { peer: leader.id })).toBeGreaterThan(0);
    expect(value(f, "raftkit_peer_received_bytes_total", { peer: leader.id })).toBeGreaterThan(0);
    expect(value(f, "raftkit_peer_round_trip_seconds_count", { peer: leader.id })).toBeGreaterThan(0);
    const buckets = f
      .get("raftkit_peer_round_trip_seconds")!
      .samples.filter((s) => s.name.endsWith("_bucket"));
    expect(buckets.some((s) => s.labels.le === "+Inf")).toBe(true);
    expect(value(f, "raftkit_event_loop_lag_seconds")).toBeGreaterThanOrEqual(0);
  });

  it("keeps each node's metrics apart in one process, and can require a secret", {
    timeout: 60_000,
  }, async () => {
    cluster = await new OpsCluster().start({ metricsSecret: "scrape-secret" });
    const [a, b] = cluster.nodes;
    expect((await fetch(`${a!.apiUrl}/metrics`)).status).toBe(401);
    const fa = await scrape(a!.apiUrl, "scrape-secret");
    const fb = await scrape(b!.apiUrl, "scrape-secret");
    expect(fa.get("raftkit_term")!.samples[0]!.labels.node).toBe(a!.id);
    expect(fb.get("raftkit_term")!.samples[0]!.labels.node).toBe(b!.id);
    await waitFor(() => a!.metrics !== b!.metrics);
  });
});
