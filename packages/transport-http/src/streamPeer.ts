import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import type { Logger, Message, NodeId } from "@raftkit/core";
import { encodedMessageSize, encodeMessages } from "./codec.js";
import {
  encodeFrame,
  FRAME_CLOSE,
  FRAME_MESSAGES,
  FRAME_PING,
  FRAME_PONG,
  FrameDecoder,
  FrameError,
  frameHeader,
} from "./frames.js";
import type { TransportObserver } from "./observer.js";
import { peerHeaders } from "./peerAuth.js";
import type { TlsClientOptions } from "./peerClient.js";
import { PeerQueue } from "./peerQueue.js";
import { STREAM_PATH, STREAM_PROTOCOL, TO_HEADER } from "./streamServer.js";

/** What one peer stream has done so far. */
export interface StreamStats {
  /** "idle" (nothing sent yet), "connecting", "open", "backoff" (waiting to reconnect), "unsupported" (the peer has no stream route: POSTs are used) or "closed". */
  state: StreamState;
  /** Streams opened so far. */
  connects: number;
  /** Batches written, and the messages in them. */
  framesSent: number;
  messagesSent: number;
  /** Messages dropped: the queue was full, the stream broke, or it was not open. */
  messagesDropped: number;
  /** Why the stream last failed, or null while it is open. */
  lastError: string | null;
  /** In "backoff": the wait before the next attempt to reconnect, in ms; else null. */
  backoffMs: number | null;
}

export type StreamState = "idle" | "connecting" | "open" | "backoff" | "unsupported" | "closed";

/** @internal */
export interface StreamPeerOptions {
  nodeId: NodeId;
  peerId: NodeId;
  address: URL;
  clusterId: string;
  secret: string;
  tls: TlsClientOptions | undefined;
  maxQueueBytes: number;
  maxQueueMessages: number;
  maxBatchBytes: number;
  /** The handshake must complete within this long. */
  connectTimeoutMs: number;
  /** A PING goes out this often. */
  pingIntervalMs: number;
  /** The stream is taken as broken when nothing (not even a PONG) arrived for this long. */
  idleTimeoutMs: number;
  /** How long a peer without the stream route is served by POSTs before the upgrade is tried again. */
  unsupportedRetryMs: number;
  /** The longest wait between two attempts to reopen a broken stream. */
  reconnectMaxMs: number;
  logger: Logger;
  /** Bytes sent, and each PING's round trip (the stream has no per-batch answer). */
  observer: TransportObserver;
  /** Messages were dropped, or the stream broke: Raft should probe the peer again. */
  unreachable(peer: NodeId): void;
  /** Opening the stream was refused (ECONNREFUSED): no process listens at the peer's address. */
  gone(peer: NodeId): void;
  /** The stream opened: the peer is up. */
  reachable(peer: NodeId): void;
}

const MIN_BACKOFF_MS = 20;
/** Past this many bytes waiting in the socket, batches stay in the (bounded) queue until it drains. */
const SOCKET_HIGH_WATER = 1024 * 1024;

/**
 * The sending side of one long-lived stream to one peer: opened with an HTTP Upgrade (see
 * streamServer.ts) when the transport starts (or the first message is queued), kept open from then on, reconnected with
 * exponential backoff up to `reconnectMaxMs` after it breaks, and at once when the peer is heard
 * from ({@link StreamPeer.peerIsUp}): a restarted peer is reached as soon as it talks. Messages
 * wait in a bounded queue and go out as one MESSAGES frame per batch as soon as the current
 * turn of the event loop ends (a microtask), over a socket with TCP_NODELAY. A PING every
 * `pingIntervalMs` keeps the stream honest: when nothing comes back for `idleTimeoutMs` (a peer
 * blackholed or gone without a FIN) the stream is dropped and the peer reported unreachable.
 *
 * Invariant: messages are only queued while the stream is connecting or open; in backoff they
 * are dropped at once (Raft retries), so nothing stale is delivered after a reconnect.
 *
 * @internal
 */
export class StreamPeer {
  readonly #o: StreamPeerOptions;
  readonly #queue: PeerQueue;
  readonly #url: URL;
  readonly #headers: Record<string, string>;
  #state: StreamState = "idle";
  #socket: Socket | null = null;
  #request: http.ClientRequest | null = null;
  #flushQueued = false;
  #failures = 0;
  #timer: NodeJS.Timeout | null = null;
  #backoffMs: number | null = null;
  #pinger: NodeJS.Timeout | null = null;
  #lastHeard = 0;
  /** When the PING now waiting for its PONG went out, or null. */
  #pingSentAt: number | null = null;
  #failing = false;
  /** The peer was heard from while connecting: if the attempt fails, retry at once. */
  #retryAtOnce = false;
  readonly #stats = {
    connects: 0,
    framesSent: 0,
    messagesSent: 0,
    messagesDropped: 0,
    lastError: null as string | null,
  };

  constructor(o: StreamPeerOptions) {
    this.#o = o;
    this.#queue = new PeerQueue(o.maxQueueBytes, o.maxQueueMessages);
    this.#url = new URL(o.address.href);
    this.#url.pathname = this.#url.pathname.replace(/\/+$/, "") + STREAM_PATH;
    this.#headers = {
      ...peerHeaders(o.clusterId, o.secret, o.nodeId),
      [TO_HEADER]: encodeURIComponent(o.peerId),
      connection: "Upgrade",
      upgrade: STREAM_PROTOCOL,
    };
  }

  /** False while the peer has no stream route: the caller sends by POST instead. */
  get usable(): boolean {
    return this.#state !== "unsupported";
  }

  /** Opens the stream if nothing has opened it yet; from then on it is kept open. */
  open(): void {
    if (this.#state === "idle") this.#connect();
  }

  /**
   * Queues messages (never snapshots); returns how many were dropped. Opens the stream if
   * nothing has opened it yet.
   */
  enqueue(messages: readonly Message[]): number {
    this.open();
    if (this.#state !== "open" && this.#state !== "connecting") {
      this.#stats.messagesDropped += messages.length;
      return messages.length;
    }
    let dropped = 0;
    for (const m of messages) if (!this.#queue.push(m, encodedMessageSize(m))) dropped++;
    this.#stats.messagesDropped += dropped;
    if (this.#state === "open" && !this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => this.#flush());
    }
    return dropped;
  }

  /** Writes what is queued now, if the stream is open (else it goes once it opens). */
  flush(): void {
    if (this.#queue.length > 0) this.#flush();
  }

  stats(): StreamStats {
    return {
      state: this.#state,
      ...this.#stats,
      backoffMs: this.#state === "backoff" ? this.#backoffMs : null,
    };
  }

  /**
   * The peer was just heard from (its messages arrived, or it opened its own stream to this
   * node), so it is up again: a stream waiting out its backoff reconnects now, and the next
   * failure backs off from the shortest wait again. What this node answers a restarted peer
   * then reaches it at once instead of being dropped until the backoff ends.
   */
  peerIsUp(): void {
    // An attempt under way may still fail (it reached the peer before it served streams, e.g.
    // while it was starting): then it is retried at once rather than after the backoff.
    if (this.#state === "connecting") this.#retryAtOnce = true;
    if (this.#state !== "backoff") return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#failures = 0;
    this.#connect();
  }

  /** Closes the stream for good and drops the queue. */
  close(): void {
    this.#state = "closed";
    this.#stats.messagesDropped += this.#queue.length;
    this.#queue.clear();
    this.#clearTimers();
    this.#request?.destroy();
    this.#socket?.destroy();
  }

  #clearTimers(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#pinger) clearInterval(this.#pinger);
    this.#timer = null;
    this.#pinger = null;
  }

  #connect(): void {
    this.#state = "connecting";
    this.#retryAtOnce = false;
    const request = this.#url.protocol === "https:" ? https.request : http.request;
    const req = request(this.#url, {
      headers: this.#headers,
      agent: false,
      ...(this.#url.protocol === "https:" ? this.#o.tls : {}),
    });
    this.#request = req;
    req.setTimeout(this.#o.connectTimeoutMs, () =>
      req.destroy(new Error(`no answer to the upgrade within ${this.#o.connectTimeoutMs} ms`)),
    );
    req.on("socket", (s: Socket) => s.setNoDelay(true));
    req.on("upgrade", (_res, socket: Socket, head: Buffer) => this.#opened(socket, head));
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (s: string) => {
        if (text.length < 4096) text += s;
      });
      res.on("end", () => this.#refused(res.statusCode ?? 0, text));
      res.on("error", () => this.#refused(res.statusCode ?? 0, text));
    });
    req.on("error", (e: NodeJS.ErrnoException) => {
      const code = e.code && !e.message.includes(e.code) ? `${e.code} ` : "";
      this.#broken(`${code}${e.message}`);
      // Only a refusal: a timeout or a reset may come from a live peer that is slow or cut off.
      if (e.code === "ECONNREFUSED" && this.#state === "backoff") this.#o.gone(this.#o.peerId);
    });
    req.end();
  }

  #opened(socket: Socket, head: Buffer): void {
    this.#request = null;
    if (this.#state === "closed") {
      socket.destroy();
      return;
    }
    this.#socket = socket;
    this.#state = "open";
    this.#stats.connects++;
    this.#failures = 0;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, this.#o.idleTimeoutMs);
    this.#lastHeard = performance.now();
    const decoder = new FrameDecoder(64 * 1024);
    const onData = (chunk: Buffer): void => {
      this.#lastHeard = performance.now();
      try {
        decoder.push(chunk, (kind, payload) => {
          if (kind === FRAME_CLOSE) throw new FrameError("MALFORMED_MESSAGE", refusalText(payload));
          if (kind === FRAME_PONG && this.#pingSentAt !== null) {
            const seconds = (performance.now() - this.#pingSentAt) / 1000;
            this.#pingSentAt = null;
            this.#o.observer.sent?.(this.#o.peerId, 0, seconds, true);
          }
        });
      } catch (e) {
        socket.destroy(e as Error);
      }
    };
    socket.on("data", onData);
    socket.on("drain", () => this.#flush());
    socket.on("error", (e) => this.#broken(e.message, socket));
    socket.on("close", () => this.#broken("the connection closed", socket));
    this.#pinger = setInterval(() => this.#ping(socket), this.#o.pingIntervalMs);
    this.#pinger.unref();
    // A first PING at once: the round trip is known (and reported) from the start.
    this.#pingSentAt = null;
    this.#ping(socket);
    if (head.byteLength > 0) onData(head);
    if (this.#failing) {
      this.#o.logger.info(
        `raftkit transport: node ${this.#o.nodeId} reaches peer ${this.#o.peerId} at ${this.#o.address.href} again`,
      );
    }
    this.#failing = false;
    this.#stats.lastError = null;
    this.#flush();
    this.#o.reachable(this.#o.peerId);
  }

  #ping(socket: Socket): void {
    if (performance.now() - this.#lastHeard > this.#o.idleTimeoutMs) {
      socket.destroy(new Error(`nothing heard for ${this.#o.idleTimeoutMs} ms (streamIdleTimeoutMs)`));
      return;
    }
    if (this.#pingSentAt === null) this.#pingSentAt = performance.now();
    socket.write(encodeFrame(FRAME_PING));
  }

  #flush(): void {
    this.#flushQueued = false;
    const socket = this.#socket;
    if (this.#state !== "open" || socket === null) return;
    if (this.#queue.length === 0 || socket.writableLength > SOCKET_HIGH_WATER) return;
    socket.cork();
    while (this.#queue.length > 0 && socket.writableLength <= SOCKET_HIGH_WATER) {
      const { messages } = this.#queue.take(this.#o.maxBatchBytes);
      const body = encodeMessages(messages);
      const header = frameHeader(FRAME_MESSAGES, body.byteLength);
      socket.write(header);
      socket.write(body);
      // No answer to time per batch: bytes only (round trips come from PING/PONG), not a round trip.
      this.#o.observer.sent?.(this.#o.peerId, header.byteLength + body.byteLength, Number.NaN, false);
      this.#stats.framesSent++;
      this.#stats.messagesSent += messages.length;
    }
    socket.uncork();
  }

  /** The peer answered the upgrade with a status instead of switching. */
  #refused(status: number, text: string): void {
    this.#request = null;
    if (this.#state === "closed") return;
    const reason = `the peer refused the stream with ${status} ${refusalText(Buffer.from(text))}`;
    // 404: a server that routes no upgrades; 426: upgrades do not reach the peer router, or
    // it speaks another stream protocol. Either way its POST route may still serve.
    if (status === 404 || status === 426) {
      this.#unsupported(reason);
      return;
    }
    this.#broken(reason);
  }

  #unsupported(reason: string): void {
    this.#o.logger.info(
      `raftkit transport: node ${this.#o.nodeId} sends to peer ${this.#o.peerId} by HTTP POSTs: ${reason}; the stream is tried again in ${this.#o.unsupportedRetryMs} ms`,
    );
    this.#state = "unsupported";
    const dropped = this.#queue.length;
    this.#stats.messagesDropped += dropped;
    this.#queue.clear();
    if (dropped > 0) this.#o.unreachable(this.#o.peerId);
    this.#timer = setTimeout(() => this.#connect(), this.#o.unsupportedRetryMs);
    this.#timer.unref();
  }

  /** The stream (or the attempt to open one) failed: drop what waits, report, back off, reconnect. */
  #broken(reason: string, socket?: Socket): void {
    if (this.#state === "closed" || this.#state === "backoff") return;
    if (socket !== undefined && socket !== this.#socket) return;
    this.#socket?.destroy();
    this.#socket = null;
    this.#request = null;
    this.#clearTimers();
    const dropped = this.#queue.length;
    this.#stats.messagesDropped += dropped;
    this.#queue.clear();
    this.#note(reason);
    this.#state = "backoff";
    if (this.#retryAtOnce) this.#failures = 0;
    const delay = this.#retryAtOnce
      ? 0
      : Math.min(this.#o.reconnectMaxMs, MIN_BACKOFF_MS * 2 ** this.#failures++);
    this.#retryAtOnce = false;
    this.#backoffMs = delay;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#state === "backoff") this.#connect();
    }, delay);
    this.#timer.unref();
    this.#o.unreachable(this.#o.peerId);
  }

  #note(reason: string): void {
    const { nodeId, peerId, address, logger } = this.#o;
    if (!this.#failing || this.#stats.lastError !== reason) {
      logger.warn(
        `raftkit transport: node ${nodeId} lost its stream to peer ${peerId} at ${address.href}: ${reason}. Messages to ${peerId} are dropped and Raft retries; reconnecting with backoff`,
      );
    }
    this.#failing = true;
    this.#stats.lastError = reason;
  }
}

/** The peer's own explanation from a JSON `{ error: { code, message } }`, else the text. */
function refusalText(payload: Buffer): string {
  const text = payload.toString("utf8");
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.message === "string") return `${String(body.error.code)}: ${body.error.message}`;
  } catch {}
  return text.slice(0, 200);
}
