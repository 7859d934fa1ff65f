import type { IncomingMessage, Server } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import {
  ConfigError,
  type Logger,
  type Message,
  type NodeId,
  silentLogger,
  type Transport,
  type TransportHandler,
} from "@raftkit/core";
import type { Router } from "express";
import { TransportNotRunningError } from "./errors.js";
import type { TransportObserver } from "./observer.js";
import { PeerClient, type PeerLimits, type PeerStats, type TlsClientOptions } from "./peerClient.js";
import { createPeerRouter, DEFAULT_MAX_BODY_BYTES } from "./router.js";
import { StreamPeer } from "./streamPeer.js";
import { PeerStreamServer } from "./streamServer.js";

export interface HttpTransportOptions {
  /** This node's id; incoming messages must be addressed to it. */
  nodeId: NodeId;
  /** Shared by every node of the cluster; requests for another cluster are refused. */
  clusterId: string;
  /** Shared by every node of the cluster; sent with every request and required on every request received. */
  secret: string;
  /**
   * Where each peer's router is reachable: its base URL, e.g. `"https://10.0.0.2:7000"`, or
   * `"http://host:3000/internal"` when it is mounted under `/internal`. An entry for `nodeId`
   * itself is ignored, so every node can be given the same map.
   */
  peers: Record<NodeId, string>;
  /** TLS settings for `https:` peers, e.g. `{ ca }` for a private certificate authority. */
  tls?: TlsClientOptions;
  /** Bound of each peer's queue in encoded bytes; past it new messages are dropped. Default 16 MiB. */
  maxQueueBytes?: number;
  /** Bound of each peer's queue in messages; past it new messages are dropped. Default 4096. */
  maxQueueMessages?: number;
  /** Requests in flight to one peer at once (snapshots aside). Default 2. */
  maxInflightRequests?: number;
  /** Largest batch sent in one request, in encoded bytes (a single larger message still goes alone). Default 4 MiB. */
  maxBatchBytes?: number;
  /** A request that makes no progress for this long fails. Default 5000. */
  requestTimeoutMs?: number;
  /** Snapshots are written in chunks of this size. Default 1 MiB. */
  snapshotChunkBytes?: number;
  /** Largest incoming batch, in bytes. Default 8 MiB; keep it above the peers' maxBatchBytes. */
  maxBodyBytes?: number;
  /** Largest incoming snapshot, in bytes. Default 512 MiB. */
  maxSnapshotBytes?: number;
  /**
   * Send messages over one long-lived stream per peer (an HTTP Upgrade on the peer's own port,
   * see docs/http-api.md) instead of one POST per batch. Snapshots still go by POST, in chunks.
   * A peer whose server does not route upgrades ({@link HttpTransport.attach}) answers 404 or
   * 426 and is served by POSTs. Default false; startNode turns it on.
   */
  stream?: boolean;
  /** A stream sends a PING this often. Default 500. */
  streamPingIntervalMs?: number;
  /** A stream that brings nothing for this long (a blackholed or vanished peer) is dropped and the peer reported unreachable. Default 3000. */
  streamIdleTimeoutMs?: number;
  /**
   * The longest wait between two attempts to reopen a broken stream (the waits double from 20 ms
   * up to this). A peer that is heard from again (its messages arrive, or it opens its own
   * stream) is reconnected at once, whatever the wait. Default 250, so a restarted peer that
   * stays silent is still reached within a quarter of a second (etcd redials every 100 ms).
   */
  streamReconnectMaxMs?: number;
  /** Default: silent. Unreachable peers and refused requests are reported at `warn`. */
  logger?: Logger;
  /** Hooks called for every request to and from a peer (round trip, bytes), e.g. to keep metrics. */
  observer?: TransportObserver;
}

const MiB = 1024 * 1024;

function positive(name: string, v: number | undefined, fallback: number): number {
  const n = v ?? fallback;
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new ConfigError(`transport-http: ${name} must be a positive integer, got ${n}`);
  return n;
}

function parseAddress(nodeId: NodeId, peer: NodeId, address: string): URL {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new ConfigError(
      `node ${nodeId}: the address of peer ${peer}, ${JSON.stringify(address)}, is not a URL; give one like "http://10.0.0.2:7000"`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(
      `node ${nodeId}: the address of peer ${peer}, "${address}", must start with http:// or https://`,
    );
  }
  return url;
}

/**
 * Raft's {@link Transport} over HTTP. Outgoing: one bounded queue per peer, everything queued
 * for a peer sent coalesced in one request over keep-alive connections, at most
 * `maxInflightRequests` at once; a full queue drops new messages and a failed request drops its
 * batch, and both report the peer unreachable so Raft probes it again. Snapshot messages are
 * streamed on their own route and their outcome reported with `reportSnapshot`.
 *
 * With `stream: true`, messages go instead over one long-lived stream per peer (an HTTP Upgrade
 * on the peer's port, see streamServer.ts and streamPeer.ts), with the same bounds and reports;
 * a peer whose server does not route upgrades is served by requests.
 *
 * Incoming: {@link HttpTransport.router} is an express router the caller must mount in an
 * express app (or pass to `startPeerServer`); it refuses requests until `start()`. Streams
 * reach the transport through {@link HttpTransport.attach} on that app's server.
 */
export class HttpTransport implements Transport {
  /** Receives peers' messages; mount it at the root of the path given as this node's address. */
  readonly router: Router;
  readonly #nodeId: NodeId;
  readonly #options: HttpTransportOptions;
  readonly #logger: Logger;
  readonly #limits: PeerLimits;
  readonly #peers = new Map<NodeId, PeerClient>();
  readonly #streams = new Map<NodeId, StreamPeer>();
  readonly #streamServer: PeerStreamServer;
  readonly #attached = new Set<Server | HttpsServer>();
  /** Peers already warned about having no address, so that each is logged once. */
  readonly #unknownPeers = new Set<NodeId>();
  #handler: TransportHandler | null = null;
  #stopped = false;

  /** Validates the options and peer addresses (throws `ConfigError`); nothing is sent or received before {@link start}. */
  constructor(options: HttpTransportOptions) {
    this.#options = options;
    this.#nodeId = options.nodeId;
    this.#logger = options.logger ?? silentLogger;
    this.#limits = {
      maxQueueBytes: positive("maxQueueBytes", options.maxQueueBytes, 16 * MiB),
      maxQueueMessages: positive("maxQueueMessages", options.maxQueueMessages, 4096),
      maxInflightRequests: positive("maxInflightRequests", options.maxInflightRequests, 2),
      maxBatchBytes: positive("maxBatchBytes", options.maxBatchBytes, 4 * MiB),
      requestTimeoutMs: positive("requestTimeoutMs", options.requestTimeoutMs, 5000),
      snapshotChunkBytes: positive("snapshotChunkBytes", options.snapshotChunkBytes, MiB),
    };
    this.#streamServer = new PeerStreamServer({
      nodeId: options.nodeId,
      clusterId: options.clusterId,
      secret: options.secret,
      maxBodyBytes: positive("maxBodyBytes", options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES),
      idleTimeoutMs: positive("streamIdleTimeoutMs", options.streamIdleTimeoutMs, 3000) * 2,
      handler: { receive: (messages) => this.#receive(messages) },
      ...(options.observer?.received && { onReceived: options.observer.received }),
      onPeerStream: (peer) => this.#streams.get(peer)?.peerIsUp(),
      logger: this.#logger,
    });
    this.router = createPeerRouter({
      nodeId: options.nodeId,
      clusterId: options.clusterId,
      secret: options.secret,
      handler: { receive: (messages) => this.#receive(messages) },
      logger: this.#logger,
      ...(options.observer?.received && { onReceived: options.observer.received }),
      ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
      ...(options.maxSnapshotBytes === undefined ? {} : { maxSnapshotBytes: options.maxSnapshotBytes }),
    });
    for (const [id, address] of Object.entries(options.peers)) this.addPeer(id, address);
  }

  /**
   * Starts handing incoming messages to `handler` and sending; call once. With `stream`, opens
   * the stream to every peer at once: a restarted node is then known to its peers (who reconnect
   * to it, see StreamPeer.peerIsUp) before it has anything to say, so a live leader's heartbeats
   * reach it before it would campaign.
   */
  async start(handler: TransportHandler): Promise<void> {
    if (this.#handler !== null || this.#stopped) {
      throw new ConfigError(`node ${this.#nodeId}: HttpTransport.start() may be called once, before stop()`);
    }
    this.#handler = handler;
    for (const stream of this.#streams.values()) stream.open();
  }

  /**
   * Queues each message for its `to` peer and returns at once; the transport owns the messages
   * from then on, so the caller must not change them. Messages for a peer with no address, or
   * that do not fit its queue, are dropped and the peer reported unreachable, once per call and
   * only after send() has returned.
   */
  send(messages: readonly Message[]): void {
    if (this.#handler === null || this.#stopped) return;
    const byPeer = new Map<NodeId, Message[]>();
    const unreachable = new Set<NodeId>();
    for (const m of messages) {
      const peer = this.#peers.get(m.to);
      if (peer === undefined) {
        this.#warnNoAddress(m.to);
        unreachable.add(m.to);
      } else if (m.type === "snapshot") {
        peer.sendSnapshot(m);
      } else {
        const list = byPeer.get(m.to);
        if (list === undefined) byPeer.set(m.to, [m]);
        else list.push(m);
      }
    }
    for (const [id, list] of byPeer) {
      const stream = this.#streams.get(id);
      const dropped = stream?.usable === true ? stream.enqueue(list) : this.#peers.get(id)!.enqueue(list);
      if (dropped > 0) unreachable.add(id);
    }
    // Reported after send() returns: the handler must not be re-entered from inside its own send.
    if (unreachable.size > 0) {
      queueMicrotask(() => {
        for (const id of unreachable) this.#handler?.reportUnreachable(id);
      });
    }
  }

  /** Writes what waits for each open peer stream now, instead of at the end of this turn (POSTs keep their own pace). */
  flush(): void {
    for (const stream of this.#streams.values()) stream.flush();
  }

  /**
   * Sends to `id` at `address` (its router's base URL) from now on. Replacing an address drops
   * what was queued for the old one. Throws a `ConfigError` for an address that is not an
   * http(s) URL.
   */
  addPeer(id: NodeId, address: string): void {
    if (id === this.#nodeId || this.#stopped) return;
    const url = parseAddress(this.#nodeId, id, address);
    this.#unknownPeers.delete(id);
    const old = this.#peers.get(id);
    if (old !== undefined) void old.close();
    this.#streams.get(id)?.close();
    this.#streams.delete(id);
    // What the stream and the request client to this peer both need.
    const peer = {
      nodeId: this.#nodeId,
      peerId: id,
      address: url,
      clusterId: this.#options.clusterId,
      secret: this.#options.secret,
      tls: this.#options.tls,
      logger: this.#logger,
      observer: this.#options.observer ?? {},
    };
    if (this.#options.stream === true) {
      this.#streams.set(
        id,
        new StreamPeer({
          ...peer,
          maxQueueBytes: this.#limits.maxQueueBytes,
          maxQueueMessages: this.#limits.maxQueueMessages,
          maxBatchBytes: this.#limits.maxBatchBytes,
          connectTimeoutMs: this.#limits.requestTimeoutMs,
          pingIntervalMs: positive("streamPingIntervalMs", this.#options.streamPingIntervalMs, 500),
          idleTimeoutMs: positive("streamIdleTimeoutMs", this.#options.streamIdleTimeoutMs, 3000),
          unsupportedRetryMs: 30_000,
          reconnectMaxMs: positive("streamReconnectMaxMs", this.#options.streamReconnectMaxMs, 250),
          unreachable: (peer) => this.#handler?.reportUnreachable(peer),
          gone: (peer) => this.#handler?.reportGone?.(peer),
          reachable: (peer) => this.#handler?.reportReachable?.(peer),
        }),
      );
      if (this.#handler !== null) this.#streams.get(id)!.open();
    }
    this.#peers.set(
      id,
      new PeerClient({
        ...peer,
        ...this.#limits,
        events: {
          unreachable: (peer) => this.#handler?.reportUnreachable(peer),
          snapshot: (peer, ok) => this.#handler?.reportSnapshot(peer, ok),
        },
      }),
    );
  }

  /** Stops sending to `id`: aborts its requests and drops its queue. */
  removePeer(id: NodeId): void {
    const peer = this.#peers.get(id);
    if (peer === undefined) return;
    this.#peers.delete(id);
    void peer.close();
    this.#streams.get(id)?.close();
    this.#streams.delete(id);
  }

  /**
   * Serves peer streams on `server` (the one whose routes include {@link router}): adds an
   * `upgrade` listener that takes upgrade requests for the stream route. Any other upgrade is
   * left to the server's other `upgrade` listeners, or refused with 404 when there are none.
   */
  attach(server: Server | HttpsServer): void {
    if (this.#attached.has(server)) return;
    this.#attached.add(server);
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this.handleUpgrade(req, socket, head)) return;
      if (server.listenerCount("upgrade") === 1) {
        socket.on("error", () => socket.destroy());
        socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      }
    });
  }

  /**
   * Takes an upgrade request if it is for the peer stream route, answering it (refused with a
   * status and JSON, or switched to a stream); returns false, touching nothing, otherwise. For
   * servers that dispatch upgrades themselves; most callers use {@link attach}.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (!PeerStreamServer.wants(req)) return false;
    this.#streamServer.accept(req, socket, head, this.#handler !== null && !this.#stopped);
    return true;
  }

  /** Aborts requests in flight, drops every queue, closes connections and streams; incoming requests then get 503. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#handler = null;
    const peers = [...this.#peers.values()];
    this.#peers.clear();
    for (const s of this.#streams.values()) s.close();
    this.#streams.clear();
    this.#streamServer.close();
    await Promise.all(peers.map((p) => p.close()));
  }

  /** Each peer's queue and counters, for monitoring and tests. */
  stats(): Record<NodeId, PeerStats> {
    const out: Record<NodeId, PeerStats> = {};
    for (const [id, peer] of this.#peers) {
      const stream = this.#streams.get(id);
      out[id] = stream ? { ...peer.stats(), stream: stream.stats() } : peer.stats();
    }
    return out;
  }

  #warnNoAddress(id: NodeId): void {
    if (this.#unknownPeers.has(id)) return;
    this.#unknownPeers.add(id);
    this.#logger.warn(
      `raftkit transport: node ${this.#nodeId} has no address for peer ${id}; its messages are dropped until it is given in peers or with addPeer`,
    );
  }

  #receive(messages: Message[]): void {
    if (this.#handler === null) throw new TransportNotRunningError(this.#nodeId);
    // Before Raft answers: the answers then wait in the reopening stream instead of being dropped.
    const from = messages[0]?.from;
    if (from !== undefined) this.#streams.get(from)?.peerIsUp();
    this.#handler.receive(messages);
  }
}
