import { monitorEventLoopDelay } from "node:perf_hooks";
import type { RaftNode, RaftNodeObserver } from "@raftkit/core";
import type { WalCommit } from "@raftkit/store-fs";
import type { TransportObserver } from "@raftkit/transport-http";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Subscription } from "rxjs";
import type { Consistency } from "./types.js";

/** Latency buckets in seconds, from 0.5 ms to 4 s (etcd's disk histograms span the same range). */
const SECONDS = [
  0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096,
];
const ENTRIES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/**
 * A node's Prometheus metrics, in a registry of its own (never prom-client's global one), so
 * several nodes in one process each report their own. Every series carries the label
 * `node="<id>"`; peers are a `peer` label. The runtime, the store and the transport feed it
 * through their observer hooks; {@link NodeMetrics.attach} reads the rest from the node.
 */
export class NodeMetrics {
  /** The registry to serve (GET /raftkit/metrics does) or to add your own metrics to. */
  readonly registry = new Registry();
  readonly #leaderChanges: Counter;
  readonly #committed: Counter;
  readonly #pending: Gauge;
  readonly #failed: Counter<"reason">;
  readonly #fsync: Histogram;
  readonly #entriesPerFsync: Histogram;
  readonly #apply: Histogram;
  readonly #rtt: Histogram<"peer">;
  readonly #sent: Counter<"peer">;
  readonly #received: Counter<"peer">;
  readonly #snapshot: Histogram<"kind">;
  readonly #reads: Counter<"consistency">;
  readonly #loopDelay = monitorEventLoopDelay({ resolution: 10 });
  #subscription: Subscription | null = null;

  constructor(nodeId: string) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: nodeId });
    const counter = <L extends string = never>(name: string, help: string, labelNames: L[] = []) =>
      new Counter<L>({ name: `raftkit_${name}`, help, labelNames, registers });
    const histogram = <L extends string = never>(
      name: string,
      help: string,
      buckets: number[],
      labelNames: L[] = [],
    ) => new Histogram<L>({ name: `raftkit_${name}`, help, buckets, labelNames, registers });
    this.#leaderChanges = counter("leader_changes_total", "Times this node saw a new leader.");
    this.#committed = counter("proposals_committed_total", "Proposals of this node applied here.");
    this.#pending = new Gauge({
      name: "raftkit_proposals_pending",
      help: "Proposals of this node waiting to be applied.",
      registers,
    });
    this.#failed = counter("proposals_failed_total", "Proposals of this node that failed, by reason.", [
      "reason",
    ]);
    this.#fsync = histogram(
      "wal_fsync_duration_seconds",
      "Write-ahead log group commits: write and fdatasync.",
      SECONDS,
    );
    this.#entriesPerFsync = histogram(
      "wal_entries_per_fsync",
      "Log entries made durable by one write-ahead log fsync.",
      ENTRIES,
    );
    this.#apply = histogram("apply_duration_seconds", "Applying one batch of committed entries.", SECONDS);
    this.#rtt = histogram(
      "peer_round_trip_seconds",
      "Requests to a peer, from sending to its answer.",
      SECONDS,
      ["peer"],
    );
    this.#sent = counter("peer_sent_bytes_total", "Bytes sent to a peer.", ["peer"]);
    this.#received = counter("peer_received_bytes_total", "Bytes received from a peer.", ["peer"]);
    this.#snapshot = histogram(
      "snapshot_duration_seconds",
      "Taking a snapshot and compacting the log (kind=taken), or restoring one (kind=restored).",
      SECONDS,
      ["kind"],
    );
    this.#reads = counter("reads_total", "Queries served by this node, by consistency.", ["consistency"]);
    this.#loopDelay.enable();
  }

  /** Hooks for the runtime (`RaftNodeOptions.observer`). */
  readonly raftObserver: RaftNodeObserver = {
    proposalStarted: () => this.#pending.inc(),
    proposalCommitted: () => {
      this.#pending.dec();
      this.#committed.inc();
    },
    proposalFailed: (reason) => {
      this.#pending.dec();
      this.#failed.inc({ reason });
    },
    applied: (_entries, ms) => this.#apply.observe(ms / 1000),
    snapshotTaken: (_index, ms) => this.#snapshot.observe({ kind: "taken" }, ms / 1000),
    snapshotRestored: (_index, ms) => this.#snapshot.observe({ kind: "restored" }, ms / 1000),
  };

  /** Hooks for the transport (`HttpTransportOptions.observer`). */
  readonly transportObserver: TransportObserver = {
    sent: (peer, bytes, seconds, ok) => {
      this.#sent.inc({ peer }, bytes);
      if (ok) this.#rtt.observe({ peer }, seconds);
    },
    received: (peer, bytes) => this.#received.inc({ peer }, bytes),
  };

  /** For the store (`FileStorageOptions.onSync`). */
  readonly walCommitted = (c: WalCommit): void => {
    this.#fsync.observe(c.durationMs / 1000);
    this.#entriesPerFsync.observe(c.entries);
  };

  /** For the command runner: one query served. */
  readonly read = (consistency: Consistency): void => {
    this.#reads.inc({ consistency });
  };

  /** Starts following `raft`: leader changes, and the gauges read at each scrape. */
  attach(raft: RaftNode): void {
    let leader: string | null = raft.status().leader;
    this.#subscription = raft.leader$.subscribe((l) => {
      if (l !== null && l !== leader) this.#leaderChanges.inc();
      if (l !== null) leader = l;
    });
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name: `raftkit_${name}`,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    };
    gauge("has_leader", "1 when this node knows a leader, else 0.", () => (raft.status().leader ? 1 : 0));
    gauge("is_leader", "1 when this node is the leader, else 0.", () =>
      raft.status().role === "leader" ? 1 : 0,
    );
    gauge("term", "This node's current term.", () => raft.status().term);
    gauge("commit_index", "Highest log index known committed here.", () => raft.status().commit);
    gauge("applied_index", "Highest log index applied here.", () => raft.status().applied);
    const loop = this.#loopDelay;
    gauge("event_loop_lag_seconds", "Largest event-loop delay since the last scrape.", () => {
      const max = Number.isFinite(loop.max) ? loop.max / 1e9 : 0;
      loop.reset();
      return max;
    });
  }

  /** A few running totals for the dashboard: fsyncs (count, seconds), proposals committed, leader changes. */
  async counters(): Promise<{
    fsyncs: number;
    fsyncSeconds: number;
    committed: number;
    leaderChanges: number;
  }> {
    const fsync = (await this.#fsync.get()).values;
    const pick = (name: string) => fsync.find((v) => v.metricName === name)?.value ?? 0;
    return {
      fsyncs: pick("raftkit_wal_fsync_duration_seconds_count"),
      fsyncSeconds: pick("raftkit_wal_fsync_duration_seconds_sum"),
      committed: (await this.#committed.get()).values[0]?.value ?? 0,
      leaderChanges: (await this.#leaderChanges.get()).values[0]?.value ?? 0,
    };
  }

  /** Stops the event-loop monitor and the subscriptions. */
  close(): void {
    this.#loopDelay.disable();
    this.#subscription?.unsubscribe();
  }
}
