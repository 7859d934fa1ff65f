import { mkdir } from "node:fs/promises";
import type { ServerOptions as HttpsServerOptions } from "node:https";
import type { AddressInfo } from "node:net";
import { type NodeStatus, RaftNode, type RaftNodeOptions } from "@raftkit/core";
import { type FileStorage, openFileStorage } from "@raftkit/store-fs";
import { HttpTransport, type TlsClientOptions } from "@raftkit/transport-http";
import express, { type Express } from "express";
import type { Registry } from "prom-client";
import { appStreamHandler } from "./appStream.js";
import { PUBLISH } from "./commandLog.js";
import { createDashboardRouter } from "./dashboard.js";
import { fastBatchRoute } from "./fastBatchRoute.js";
import { createAppRouter } from "./httpApi.js";
import { coreLogger, type LogLevel, logLeaderChanges, nodeLogger, type PinoLike } from "./logging.js";
import { createMachineNode, type MachineNode } from "./machineNode.js";
import { NodeMetrics } from "./metrics.js";
import { createOpsRouter } from "./opsRouter.js";
import { ReplicatedMachine } from "./replicatedMachine.js";
import { membersOf } from "./start/firstStart.js";
import { type BoundServer, listenFirst } from "./start/listenFirst.js";
import { planStart, type StartPlan, warnIfPeersIgnored } from "./start/planStart.js";
import { validateStartOptions } from "./start/validateOptions.js";
import type { AnyMachine } from "./types.js";

/** Options of {@link startNode}. */
export interface StartNodeOptions<M extends AnyMachine> {
  /** The machine every member runs (the same definition everywhere). */
  machine: M;
  /** This node's id: stable and unique in the cluster; reusable after removal only with an empty data directory, the old one deleted (docs/membership.md). */
  id: string;
  /**
   * The base URL of every initial member, this node included, e.g.
   * `{ n1: "http://10.0.0.1:7000", n2: … }`. Members added later travel in the log.
   */
  peers: Record<string, string>;
  /** Where this node keeps its log and snapshots. Created if missing; one node per directory. */
  dataDir: string;
  /** Shared by every member: required on peer traffic (and on the app API unless `apiSecret` says otherwise). */
  secret: string;
  /** Start a server on this port (and host, default 127.0.0.1); `tls` makes it HTTPS. */
  listen?: { port: number; host?: string; tls?: HttpsServerOptions };
  /** Or mount raftkit's routes on an express app you already run (then you call `listen` yourself). */
  app?: Express;
  /** Refuses peer traffic from other clusters. Default "raftkit". */
  clusterId?: string;
  /** Join an existing cluster (wait to be added) instead of bootstrapping a new one when the data directory is empty. */
  join?: boolean;
  /**
   * Bootstrap a new cluster from `peers` even if a peer answers as a member of an existing cluster
   * that does not list this node (which is refused with `ClusterExistsError` otherwise). Only
   * matters when the data directory is empty; a brand-new cluster whose members all start empty
   * needs no such option.
   */
  newCluster?: boolean;
  /** Where the app API is mounted. Default "/raftkit". */
  apiPath?: string;
  /** The app API's secret; default: `secret`. `null` serves the app API without one (only on a trusted network). */
  apiSecret?: string | null;
  /** TLS settings for connecting to `https:` peers (e.g. `{ ca }`). */
  peerTls?: TlsClientOptions;
  /**
   * Send Raft messages to peers over one long-lived stream per peer (an HTTP Upgrade on the
   * peer's port) instead of one POST per batch. Default true; a peer that does not route
   * upgrades is served by POSTs, as are peers of a node given `app` instead of `listen` (its
   * server is yours, so no upgrade reaches raftkit).
   */
  peerStream?: boolean;
  /** Disables fsync. Only for benchmarks and throwaway tests: acknowledged writes can be lost on a crash. */
  unsafeNoFsync?: boolean;
  /** Raft and runtime tuning (tickMs, electionTick, snapshotEntries, …). */
  raft?: Partial<
    Omit<RaftNodeOptions, "id" | "storage" | "transport" | "stateMachine" | "peers" | "bootstrap">
  >;
  /** Deadline of a command including retries through leader changes. Default 30 s. */
  commandTimeoutMs?: number;
  /** How long an idle session's deduplication record is kept, in log time. Default 24 h. */
  sessionTtlMs?: number;
  /**
   * Where the node logs: a pino logger (raftkit uses `logger.child({ node: id })`) or any object
   * with pino's `debug`, `info`, `warn`, `error` taking `(fields, message)`. Default: pino at
   * `logLevel`, JSON lines on stderr.
   */
  logger?: PinoLike;
  /** Level of the default logger. Default: the RAFTKIT_LOG_LEVEL environment variable, else "info". */
  logLevel?: LogLevel;
  /** A write-ahead-log fsync slower than this is logged at `warn`, in ms. Default 500. */
  slowFsyncMs?: number;
  /** Serve Prometheus metrics at `GET <apiPath>/metrics`. Default true. */
  metrics?: boolean;
  /** The secret `GET <apiPath>/metrics` requires, as `Authorization: Bearer`. Default null: none. */
  metricsSecret?: string | null;
  /** `GET <apiPath>/health` fails when applied trails commit by more than this. Default 1,000 entries. */
  healthMaxApplyLag?: number;
  /** `GET <apiPath>/ready` fails when a ReadIndex round takes longer than this, in ms. Default 1,000. */
  readyTimeoutMs?: number;
  /** Serve the live dashboard at `<apiPath>/dashboard`. Default true. */
  dashboard?: boolean;
  /** Applied entries between the state checks that detect diverged replicas (see MachineNodeOptions). Default 10,000. */
  divergenceCheckEntries?: number;
}

/** A node started by {@link startNode}. */
export type RaftkitNode<M extends AnyMachine> = MachineNode<M> & {
  /** This node's base URL (peer traffic), as given in `peers`. */
  readonly url: string;
  /** The app API's URL (for createClient's endpoints). */
  readonly apiUrl: string;
  /** This node's Prometheus registry (served at `<apiPath>/metrics`); add your own metrics to it. Null with `metrics: false`. */
  readonly metrics: Registry | null;
  /** The logger this node writes to (a child with `node` bound). */
  readonly logger: PinoLike;
};

/**
 * Starts a member of a raftkit cluster: the machine, a file store in `dataDir`, the HTTP
 * transport, the runtime, and the app API. Resolves once the node runs (not once a leader is
 * elected: commands wait for one).
 */
export async function startNode<M extends AnyMachine>(o: StartNodeOptions<M>): Promise<RaftkitNode<M>> {
  validateStartOptions(o);
  const url = o.peers[o.id]!;
  const apiPath = o.apiPath ?? "/raftkit";
  const apiSecret = o.apiSecret === undefined ? o.secret : o.apiSecret;
  const clusterId = o.clusterId ?? "raftkit";
  const log = nodeLogger(o.id, o.logger, o.logLevel);
  let raftRef: RaftNode | null = null;
  const logger = coreLogger(log, () => raftRef?.status().term ?? null);
  const metrics = o.metrics === false ? null : new NodeMetrics(o.id);
  const slowFsyncMs = o.slowFsyncMs ?? 500;

  // Everything is released if the start fails part way: the server, the storage and its lock.
  let bound: BoundServer | null = null;
  let storage: FileStorage | null = null;
  let transport: HttpTransport | null = null;
  let raft: RaftNode;
  let plan: StartPlan;
  let fresh = false;
  /** createClient's app stream, once the app API is built (see the upgrade handler below). */
  let appUpgrade: ReturnType<typeof appStreamHandler> | null = null;
  const replicated = new ReplicatedMachine(o.machine, o.sessionTtlMs ?? 24 * 3600_000);
  try {
    if (o.listen)
      bound = await listenFirst({
        port: o.listen.port,
        host: o.listen.host ?? "127.0.0.1",
        ...(o.listen.tls && { tls: o.listen.tls }),
      });
    await mkdir(o.dataDir, { recursive: true });
    storage = await openFileStorage(o.dataDir, {
      sync: !o.unsafeNoFsync,
      logger,
      onSync: (c) => {
        metrics?.walCommitted(c);
        if (c.durationMs > slowFsyncMs)
          logger.warn(
            `node ${o.id}: slow WAL fsync: ${Math.round(c.durationMs)} ms for ${c.entries} entries`,
            {
              event: "slowFsync",
              durationMs: Math.round(c.durationMs),
              entries: c.entries,
              bytes: c.bytes,
            },
          );
      },
    });
    fresh = storage.lastIndex() === 0 && storage.initialState().hardState.term === 0;
    plan = await planStart({
      id: o.id,
      clusterId,
      peers: o.peers,
      dataDir: o.dataDir,
      fresh,
      join: o.join === true,
      newCluster: o.newCluster === true,
      apiPath,
      apiSecret,
      logger,
    });
    transport = new HttpTransport({
      nodeId: o.id,
      clusterId,
      secret: o.secret,
      peers: o.peers,
      logger,
      stream: o.peerStream ?? true,
      ...(metrics && { observer: metrics.transportObserver }),
      ...(o.peerTls && { tls: o.peerTls }),
    });
    // Upgrades on the one port: peer streams from the moment the transport starts (inside
    // RaftNode.start), not once the app API below is built: a peer that reconnects as soon as
    // this node's own stream reaches it (a survivor answering a restarted member) is then not
    // turned away with 503 and made to back off. Then createClient's app stream.
    const peers = transport;
    bound?.upgrade((req, socket, head) => {
      if (peers.handleUpgrade(req, socket, head)) return;
      // Not built yet: refused as before this handler was set, with 503 (the node is starting).
      if (appUpgrade === null)
        socket.end("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      else if (!appUpgrade(req, socket, head))
        socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    });
    raft = await RaftNode.start({
      ...o.raft,
      id: o.id,
      storage,
      transport,
      // Snapshots are encoded and decoded in slices, so a large state does not stall the event loop.
      stateMachine: replicated,
      peers: o.peers,
      bootstrap: plan.bootstrap,
      ...(plan.initialVoters && { initialVoters: plan.initialVoters }),
      logger,
      ...(metrics && { observer: metrics.raftObserver }),
    });
  } catch (e) {
    await transport?.stop().catch(() => {});
    await storage?.close().catch(() => {});
    await bound?.close();
    metrics?.close();
    throw e;
  }
  raftRef = raft;
  if (!fresh)
    warnOnceRecovered(raft, (members) =>
      warnIfPeersIgnored({ id: o.id, peers: o.peers, recorded: plan.recorded, members, logger }),
    );
  metrics?.attach(raft);
  const leaderLog = logLeaderChanges(o.id, raft.status$, logger);

  const initialMembers = plan.initialVoters ?? plan.recorded?.initialMembers;
  const app = o.app ?? express();
  const node = createMachineNode(raft, replicated, {
    ...(o.commandTimeoutMs !== undefined && { commandTimeoutMs: o.commandTimeoutMs }),
    ...(metrics && { onRead: metrics.read }),
    ...(o.divergenceCheckEntries !== undefined && { divergenceCheckEntries: o.divergenceCheckEntries }),
    logger,
    remoteStatus: (id) => fetchApi<NodeStatus>(raft.addresses()[id], apiPath, "status", apiSecret),
    remotePublished: async (id) => {
      const m = await fetchApi<{ published: Record<string, unknown> }>(
        raft.addresses()[id],
        apiPath,
        "members",
        apiSecret,
      );
      return m ? Object.keys(m.published) : null;
    },
    onStop: async () => {
      leaderLog.unsubscribe();
      metrics?.close();
      await bound?.close();
    },
  });
  app.use(transport.router);
  app.use(
    apiPath,
    createOpsRouter(raft, {
      metrics,
      metricsSecret: o.metricsSecret ?? null,
      ...(o.healthMaxApplyLag !== undefined && { maxApplyLag: o.healthMaxApplyLag }),
      ...(o.readyTimeoutMs !== undefined && { readyTimeoutMs: o.readyTimeoutMs }),
    }),
  );
  if (o.dashboard !== false)
    app.use(apiPath, createDashboardRouter(raft, { secret: apiSecret, apiPath, metrics }));
  app.use(
    apiPath,
    createAppRouter(node, () => raft.addresses(), {
      ...(apiSecret !== null && { secret: apiSecret }),
      logger,
      ...(initialMembers && { initialMembers }),
    }),
  );

  if (bound) {
    // createClient's calls skip express: the batch route is answered straight from node:http.
    const fast = fastBatchRoute(node, apiPath, apiSecret);
    bound.serve((req, res) => {
      if (!fast(req, res)) app(req, res);
    });
    appUpgrade = appStreamHandler(node, apiPath, apiSecret);
    const a = bound.server.address() as AddressInfo;
    logger.info(`node ${o.id}: listening on ${a.address}:${a.port}`);
  }

  // Announce that this member has run, so a later start with lost data is recognised.
  void publishWhenLeaderKnown(node, o.id);
  return Object.assign(node, {
    url,
    apiUrl: `${url.replace(/\/$/, "")}${apiPath}`,
    metrics: metrics?.registry ?? null,
    logger: log,
  });
}

/** Another node's answer to `GET <apiPath>/<route>` on its app API (status, members), or null when it cannot be had. */
async function fetchApi<T>(
  address: string | undefined,
  apiPath: string,
  route: string,
  secret: string | null,
): Promise<T | null> {
  if (!address) return null;
  const res = await fetch(`${address.replace(/\/$/, "")}${apiPath}/${route}`, {
    headers: secret !== null ? { authorization: `Bearer ${secret}` } : {},
    signal: AbortSignal.timeout(2_000),
  });
  return res.ok ? ((await res.json()) as T) : null;
}

async function publishWhenLeaderKnown<M extends AnyMachine>(
  node: ReturnType<typeof createMachineNode<M>>,
  id: string,
): Promise<void> {
  const incarnation = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  try {
    await node.runner.system(
      PUBLISH,
      { id, incarnation, supports: node.status().supportsMachineVersion },
      { timeoutMs: 24 * 3600_000 },
    );
  } catch {
    // Stopped before a leader was found: the next start publishes.
  }
}

/** Calls `check` with the members once the node has applied what was committed when it started (its membership then is its log's). */
function warnOnceRecovered(raft: RaftNode, check: (members: string[]) => void): void {
  const commit = raft.status().commit;
  let done = false;
  const sub = raft.status$.subscribe((s) => {
    if (done || s.applied < commit || s.stopped) return;
    done = true;
    queueMicrotask(() => sub.unsubscribe());
    check(membersOf(s.membership));
  });
}
