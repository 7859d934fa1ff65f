import http from "node:http";
import https from "node:https";
import type { Logger, Message, NodeId } from "@raftkit/core";
import { encodedMessageSize, encodeMessages } from "./codec.js";
import type { TransportObserver } from "./observer.js";
import { peerHeaders } from "./peerAuth.js";
import { PeerQueue } from "./peerQueue.js";
import { type PeerResponse, postRequest } from "./postRequest.js";
import { MESSAGES_PATH, SNAPSHOT_PATH } from "./router.js";
import { encodeSnapshotHeader } from "./snapshotFrame.js";
import type { StreamStats } from "./streamPeer.js";

/** TLS settings for connections to `https:` peers (a subset of `https.AgentOptions`). */
export type TlsClientOptions = Pick<
  https.AgentOptions,
  | "ca"
  | "cert"
  | "key"
  | "pfx"
  | "passphrase"
  | "rejectUnauthorized"
  | "servername"
  | "checkServerIdentity"
  | "minVersion"
>;

/** What one peer's sender has done so far, and holds now. */
export interface PeerStats {
  address: string;
  /** Messages waiting to be sent, and their encoded size. Bounded by maxQueueMessages / maxQueueBytes. */
  queuedMessages: number;
  queuedBytes: number;
  /** Requests (batches and snapshots) under way now. */
  inflightRequests: number;
  /** Batch requests started, and how many of them failed. */
  requests: number;
  requestsFailed: number;
  /** Messages the peer accepted. */
  messagesSent: number;
  /** Messages dropped: the queue was full, a request failed, or the sender was closed. */
  messagesDropped: number;
  snapshotsSent: number;
  snapshotsFailed: number;
  /** Why the last request failed, or null once one has succeeded since. */
  lastError: string | null;
  /** The peer stream, when the transport sends over one (messages then go there, snapshots still by request). */
  stream?: StreamStats;
}

/** What the peer client tells the transport. @internal */
export interface PeerEvents {
  unreachable(peer: NodeId): void;
  snapshot(peer: NodeId, ok: boolean): void;
}

/** The bounds one peer's client works within, the same for every peer of a transport. @internal */
export type PeerLimits = Pick<
  PeerClientOptions,
  | "maxQueueBytes"
  | "maxQueueMessages"
  | "maxInflightRequests"
  | "maxBatchBytes"
  | "requestTimeoutMs"
  | "snapshotChunkBytes"
>;

/** @internal */
export interface PeerClientOptions {
  nodeId: NodeId;
  peerId: NodeId;
  address: URL;
  clusterId: string;
  secret: string;
  tls: TlsClientOptions | undefined;
  maxQueueBytes: number;
  maxQueueMessages: number;
  maxInflightRequests: number;
  maxBatchBytes: number;
  requestTimeoutMs: number;
  snapshotChunkBytes: number;
  logger: Logger;
  events: PeerEvents;
  observer: TransportObserver;
}

function routeUrl(base: URL, route: string): URL {
  const url = new URL(base.href);
  url.pathname = url.pathname.replace(/\/+$/, "") + route;
  return url;
}

/** The peer's own explanation of a refusal, from its JSON error body, if it sent one. */
function refusalText(res: PeerResponse): string {
  try {
    const body = JSON.parse(res.text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.message === "string")
      return `${res.status} ${String(body.error.code)}: ${body.error.message}`;
  } catch {}
  return `HTTP ${res.status}${res.text ? `: ${res.text.slice(0, 200)}` : ""}`;
}

function* chunksOf(header: Uint8Array, data: Uint8Array, chunkBytes: number): Generator<Uint8Array> {
  yield header;
  for (let off = 0; off < data.byteLength; off += chunkBytes) yield data.subarray(off, off + chunkBytes);
}

/**
 * Sends to one peer: a bounded queue whose contents go out coalesced into one request each time
 * a request slot frees up (at most `maxInflightRequests` at once, over keep-alive connections),
 * and snapshots streamed on their own route, one at a time.
 *
 * @internal
 */
export class PeerClient {
  readonly #o: PeerClientOptions;
  readonly #agent: http.Agent;
  readonly #queue: PeerQueue;
  readonly #abort = new AbortController();
  readonly #pending = new Set<Promise<void>>();
  readonly #messagesUrl: URL;
  readonly #snapshotUrl: URL;
  readonly #headers: Record<string, string>;
  #inflight = 0;
  #snapshotInflight = false;
  #scheduled = false;
  #closed = false;
  #failing = false;
  readonly #stats = {
    requests: 0,
    requestsFailed: 0,
    messagesSent: 0,
    messagesDropped: 0,
    snapshotsSent: 0,
    snapshotsFailed: 0,
    lastError: null as string | null,
  };

  constructor(o: PeerClientOptions) {
    this.#o = o;
    this.#queue = new PeerQueue(o.maxQueueBytes, o.maxQueueMessages);
    const agentOptions = {
      keepAlive: true,
      maxSockets: o.maxInflightRequests + 1,
      scheduling: "lifo" as const,
    };
    this.#agent =
      o.address.protocol === "https:"
        ? new https.Agent({ ...o.tls, ...agentOptions })
        : new http.Agent(agentOptions);
    this.#messagesUrl = routeUrl(o.address, MESSAGES_PATH);
    this.#snapshotUrl = routeUrl(o.address, SNAPSHOT_PATH);
    this.#headers = peerHeaders(o.clusterId, o.secret, o.nodeId);
  }

  /** Queues messages (never snapshots); returns how many were dropped because the queue was full. */
  enqueue(messages: readonly Message[]): number {
    let dropped = 0;
    for (const m of messages) {
      if (!this.#queue.push(m, encodedMessageSize(m))) dropped++;
    }
    this.#stats.messagesDropped += dropped;
    this.#schedule();
    return dropped;
  }

  /**
   * Streams a snapshot message; the outcome goes to `events.snapshot`. Throws a `RangeError`
   * for a snapshot message without a snapshot.
   */
  sendSnapshot(m: Message): void {
    const { peerId, nodeId } = this.#o;
    if (this.#snapshotInflight) {
      this.#o.logger.warn(
        `raftkit transport: node ${nodeId} is already sending a snapshot to ${peerId}; dropped another one (index ${m.snapshot?.meta.index})`,
      );
      this.#stats.snapshotsFailed++;
      queueMicrotask(() => {
        if (!this.#closed) this.#o.events.snapshot(peerId, false);
      });
      return;
    }
    const header = encodeSnapshotHeader(m);
    this.#snapshotInflight = true;
    this.#track(this.#sendSnapshot(m, header));
  }

  stats(): PeerStats {
    return {
      address: this.#o.address.href,
      queuedMessages: this.#queue.length,
      queuedBytes: this.#queue.bytes,
      inflightRequests: this.#inflight + (this.#snapshotInflight ? 1 : 0),
      ...this.#stats,
    };
  }

  /** Aborts every request, drops the queue and closes the connections. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stats.messagesDropped += this.#queue.length;
    this.#queue.clear();
    this.#abort.abort();
    await Promise.allSettled([...this.#pending]);
    this.#agent.destroy();
  }

  /** Keeps `p` for close() to wait on. `p` must not reject: every failure is reported, not thrown. */
  #track(p: Promise<void>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed || this.#queue.length === 0) return;
    if (this.#inflight >= this.#o.maxInflightRequests) return;
    this.#scheduled = true;
    // Wait for the end of this turn of the event loop so that everything sent in it goes out together.
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (!this.#closed && this.#inflight < this.#o.maxInflightRequests && this.#queue.length > 0) {
      const { messages } = this.#queue.take(this.#o.maxBatchBytes);
      this.#inflight++;
      this.#track(
        this.#sendBatch(messages).finally(() => {
          this.#inflight--;
          this.#schedule();
        }),
      );
    }
  }

  async #sendBatch(messages: Message[]): Promise<void> {
    this.#stats.requests++;
    const body = encodeMessages(messages);
    const failure = await this.#post(
      this.#messagesUrl,
      body.byteLength,
      [body],
      `${messages.length} messages`,
    );
    if (failure === null) {
      this.#stats.messagesSent += messages.length;
      return;
    }
    this.#stats.requestsFailed++;
    this.#stats.messagesDropped += messages.length;
    if (!this.#closed) this.#o.events.unreachable(this.#o.peerId);
  }

  async #sendSnapshot(m: Message, header: Buffer): Promise<void> {
    const { peerId, events } = this.#o;
    const data = m.snapshot?.data ?? new Uint8Array(0);
    const what = `a snapshot at index ${m.snapshot?.meta.index} (${data.byteLength} bytes)`;
    const chunks = chunksOf(header, data, this.#o.snapshotChunkBytes);
    const ok =
      (await this.#post(this.#snapshotUrl, header.byteLength + data.byteLength, chunks, what)) === null;
    this.#snapshotInflight = false;
    if (ok) this.#stats.snapshotsSent++;
    else this.#stats.snapshotsFailed++;
    if (this.#closed) return;
    if (!ok) events.unreachable(peerId);
    events.snapshot(peerId, ok);
  }

  /** Sends one request; returns null when the peer accepted it, or why it did not. */
  async #post(url: URL, length: number, chunks: Iterable<Uint8Array>, what: string): Promise<string | null> {
    let failure: string | null;
    const started = performance.now();
    try {
      const res = await postRequest({
        url,
        agent: this.#agent,
        headers: {
          ...this.#headers,
          "content-type": "application/octet-stream",
          "content-length": String(length),
        },
        timeoutMs: this.#o.requestTimeoutMs,
        signal: this.#abort.signal,
        chunks,
      });
      failure = res.status >= 200 && res.status < 300 ? null : `the peer refused it with ${refusalText(res)}`;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const code = err.code && !err.message.includes(err.code) ? `${err.code} ` : "";
      failure = `${code}${err.message}`;
    }
    this.#o.observer.sent?.(this.#o.peerId, length, (performance.now() - started) / 1000, failure === null);
    if (!this.#closed) this.#note(failure, what);
    return failure;
  }

  /** Logs when the peer becomes unreachable, when the reason changes, and when it is back. */
  #note(failure: string | null, what: string): void {
    const { nodeId, peerId, address, logger } = this.#o;
    if (failure === null) {
      if (this.#failing)
        logger.info(`raftkit transport: node ${nodeId} reaches peer ${peerId} at ${address.href} again`);
      this.#failing = false;
      this.#stats.lastError = null;
      return;
    }
    if (!this.#failing || this.#stats.lastError !== failure) {
      logger.warn(
        `raftkit transport: node ${nodeId} could not deliver ${what} to peer ${peerId} at ${address.href}: ${failure}. Messages to ${peerId} are dropped and Raft retries; check that ${peerId} is running at that address with the same clusterId and secret`,
      );
    }
    this.#failing = true;
    this.#stats.lastError = failure;
  }
}
