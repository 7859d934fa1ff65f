import { mkdir } from "node:fs/promises";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type Logger, RaftkitError, RaftNode, type RaftNodeOptions, silentLogger } from "@raftkit/core";
import { openFileStorage } from "@raftkit/store-fs";
import { HttpTransport, type TlsClientOptions } from "@raftkit/transport-http";
import express, { type Express } from "express";
import { appStreamHandler } from "./appStream.js";
import { fastBatchRoute } from "./fastBatchRoute.js";
import { createAppRouter } from "./httpApi.js";
import { createMachineNode, type MachineNode } from "./machineNode.js";
import { offThreadSnapshots } from "./offThreadEncode.js";
import { PUBLISH, ReplicatedMachine } from "./replicatedMachine.js";
import type { AnyMachine } from "./types.js";

/** Options of {@link startNode}. */
export interface StartNodeOptions<M extends AnyMachine> {
  /** The machine every member runs (the same definition everywhere). */
  machine: M;
  /** This node's id: stable, unique in the cluster, never reused after removal. */
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
  logger?: Logger;
}

/** A node started by {@link startNode}. */
export type RaftkitNode<M extends AnyMachine> = MachineNode<M> & {
  /** This node's base URL (peer traffic), as given in `peers`. */
  readonly url: string;
  /** The app API's URL (for createClient's endpoints). */
  readonly apiUrl: string;
};

/** This node's data directory is empty, but the cluster knows it ran before: its vote and log are lost. */
export class LostDataError extends RaftkitError {
  constructor(id: string, peer: string) {
    super(
      "IDENTITY_MISMATCH",
      `node ${id} starts with an empty data directory, but the cluster (as seen from ${peer}) says ${id} has run before: ` +
        `its log and vote are lost, and rejoining as if nothing happened could elect two leaders. ` +
        `Remove it (node.cluster.remove("${id}")) from a live member, then add it back as a new member (cluster.addLearner, start it with join: true).`,
    );
  }
}

/**
 * Starts a member of a raftkit cluster: the machine, a file store in `dataDir`, the HTTP
 * transport, the runtime, and the app API. Resolves once the node runs (not once a leader is
 * elected: commands wait for one).
 */
export async function startNode<M extends AnyMachine>(o: StartNodeOptions<M>): Promise<RaftkitNode<M>> {
  const logger = o.logger ?? silentLogger;
  const url = o.peers[o.id];
  if (!url) throw new TypeError(`startNode: peers must include this node's own URL under "${o.id}"`);
  if (!o.listen && !o.app)
    throw new TypeError("startNode: give `listen: { port }` or an express `app` to mount on");
  const apiPath = o.apiPath ?? "/raftkit";
  const apiSecret = o.apiSecret === undefined ? o.secret : o.apiSecret;

  await mkdir(o.dataDir, { recursive: true });
  const storage = await openFileStorage(o.dataDir, { sync: !o.unsafeNoFsync, logger });
  const fresh = storage.lastIndex() === 0 && storage.initialState().hardState.term === 0;
  if (fresh) {
    try {
      await refuseIfLostData(o.id, o.peers, apiPath, apiSecret);
    } catch (e) {
      await storage.close();
      throw e;
    }
  }
  const transport = new HttpTransport({
    nodeId: o.id,
    clusterId: o.clusterId ?? "raftkit",
    secret: o.secret,
    peers: o.peers,
    logger,
    stream: o.peerStream ?? true,
    ...(o.peerTls && { tls: o.peerTls }),
  });
  const replicated = new ReplicatedMachine(o.machine, o.sessionTtlMs ?? 24 * 3600_000);
  const raft = await RaftNode.start({
    ...o.raft,
    id: o.id,
    storage,
    transport,
    // Large states are encoded by a worker, so a snapshot does not stall the event loop.
    stateMachine: offThreadSnapshots(replicated),
    peers: o.peers,
    bootstrap: fresh && !o.join,
    logger,
  });

  const app = o.app ?? express();
  let server: Server | null = null;
  const upgraded = new Set<Duplex>();
  const node = createMachineNode(raft, replicated, {
    ...(o.commandTimeoutMs !== undefined && { commandTimeoutMs: o.commandTimeoutMs }),
    onStop: async () => {
      if (!server) return;
      const s = server;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
      });
    },
  });
  app.use(transport.router);
  app.use(
    apiPath,
    createAppRouter(node, () => raft.addresses(), apiSecret === null ? {} : { secret: apiSecret }),
  );

  if (o.listen) {
    const host = o.listen.host ?? "127.0.0.1";
    // createClient's calls skip express: the batch route is answered straight from node:http.
    const fast = fastBatchRoute(node, apiPath, apiSecret);
    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      if (!fast(req, res)) app(req, res);
    };
    const s = o.listen.tls
      ? createHttpsServer({ noDelay: true, ...o.listen.tls }, listener)
      : createHttpServer({ noDelay: true }, listener);
    server = s;
    // Upgrades on the one port: peer streams, then createClient's app stream.
    const appStream = appStreamHandler(node, apiPath, apiSecret);
    s.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // closeAllConnections() does not reach upgraded sockets: stop closes them itself.
      upgraded.add(socket);
      socket.once("close", () => upgraded.delete(socket));
      if (transport.handleUpgrade(req, socket, head) || appStream(req, socket, head)) return;
      socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    });
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(o.listen!.port, host, () => resolve());
    });
    logger.info(`node ${o.id}: listening on ${host}:${(s.address() as AddressInfo).port}`);
  }

  // Announce that this member has run, so a later start with lost data is recognised.
  void publishWhenLeaderKnown(node, o.id);
  return Object.assign(node, { url, apiUrl: `${url.replace(/\/$/, "")}${apiPath}` });
}

async function publishWhenLeaderKnown<M extends AnyMachine>(
  node: ReturnType<typeof createMachineNode<M>>,
  id: string,
): Promise<void> {
  const incarnation = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  try {
    await node.runner.system(PUBLISH, { id, incarnation }, { timeoutMs: 24 * 3600_000 });
  } catch {
    // Stopped before a leader was found: the next start publishes.
  }
}

/** Asks the initial members whether this id has run before; throws {@link LostDataError} if so. */
async function refuseIfLostData(
  id: string,
  peers: Record<string, string>,
  apiPath: string,
  apiSecret: string | null,
): Promise<void> {
  const headers: Record<string, string> = apiSecret ? { authorization: `Bearer ${apiSecret}` } : {};
  await Promise.all(
    Object.entries(peers)
      .filter(([peer]) => peer !== id)
      .map(async ([peer, base]) => {
        let members: Record<string, unknown> | undefined;
        try {
          const res = await fetch(`${base.replace(/\/$/, "")}${apiPath}/members`, {
            headers,
            signal: AbortSignal.timeout(2_000),
          });
          if (!res.ok) return;
          members = ((await res.json()) as { published?: Record<string, unknown> }).published;
        } catch {
          return; // unreachable peers cannot tell; the reachable ones decide
        }
        if (members && Object.hasOwn(members, id)) throw new LostDataError(id, peer);
      }),
  );
}
