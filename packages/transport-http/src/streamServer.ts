import type { IncomingMessage } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { type Logger, type Message, type NodeId, silentLogger } from "@raftkit/core";
import { decodeMessages } from "./codec.js";
import { MalformedMessageError, TransportNotRunningError } from "./errors.js";
import {
  encodeFrame,
  FRAME_CLOSE,
  FRAME_MESSAGES,
  FRAME_PING,
  FRAME_PONG,
  FrameDecoder,
  FrameError,
} from "./frames.js";
import { messageProblem } from "./messageChecks.js";
import { CLUSTER_HEADER, decodeHeader, FROM_HEADER, secretCheck } from "./peerAuth.js";
import type { PeerErrorCode, PeerMessageHandler } from "./router.js";

/*
 * The peer stream handshake. A node opens one stream to each peer it sends to:
 *
 *   GET <peer base path>/raft/stream HTTP/1.1
 *   Connection: Upgrade
 *   Upgrade: raftkit-peer/1
 *   Authorization: Bearer <secret>
 *   x-raftkit-cluster-id: <cluster id>      (URI-encoded)
 *   x-raftkit-from: <sender id>             (URI-encoded)
 *   x-raftkit-to: <the peer's id>           (URI-encoded)
 *
 * The peer answers `101 Switching Protocols` (Upgrade: raftkit-peer/1) and from then on the
 * connection carries frames (frames.ts): the opener sends MESSAGES and PING, the peer answers
 * PING with PONG and says why it closes with CLOSE. Or it refuses with a status and a JSON body
 * `{ error: { code, message } }` and closes: 401 UNAUTHORIZED, 403 WRONG_CLUSTER,
 * 400 WRONG_RECIPIENT, 426 UPGRADE_REQUIRED (another protocol), 503 NOT_RUNNING.
 */

/** The route a peer stream is opened on, relative to where the peer routes are served. */
export const STREAM_PATH = "/raft/stream";
/** The `Upgrade` protocol token of a peer stream. */
export const STREAM_PROTOCOL = "raftkit-peer/1";
/** The request header naming the node a stream is meant for. */
export const TO_HEADER = "x-raftkit-to";

/** @internal */
export interface StreamServerOptions {
  nodeId: NodeId;
  clusterId: string;
  secret: string;
  /** Largest frame payload accepted. */
  maxBodyBytes: number;
  /** A stream that brings nothing (not even a PING) for this long is closed. */
  idleTimeoutMs: number;
  handler: PeerMessageHandler;
  /** A batch of `bytes` from `peer` was accepted (for metrics). */
  onReceived?: (peer: NodeId, bytes: number) => void;
  /** `peer` opened a stream to this node (the handshake passed): it is up. */
  onPeerStream?: (peer: NodeId) => void;
  logger?: Logger;
}

function closeFrame(code: PeerErrorCode | "UPGRADE_REQUIRED", message: string): Buffer {
  return encodeFrame(FRAME_CLOSE, Buffer.from(JSON.stringify({ error: { code, message } })));
}

/**
 * Accepts peer streams: checks the handshake (secret in constant time, cluster id, recipient)
 * and then hands every batch that decodes and passes the same checks as the POST route to the
 * handler, in order. Holds at most one frame (bounded by `maxBodyBytes`) per connection.
 *
 * @internal
 */
export class PeerStreamServer {
  readonly #o: StreamServerOptions;
  readonly #logger: Logger;
  readonly #checkSecret: (authorization: string | undefined) => boolean;
  readonly #sockets = new Set<Duplex>();
  readonly #lastLogged = new Map<string, number>();

  constructor(o: StreamServerOptions) {
    this.#o = o;
    this.#logger = o.logger ?? silentLogger;
    this.#checkSecret = secretCheck(o.secret);
  }

  /** Whether `req` asks for a peer stream (its path ends with {@link STREAM_PATH}). */
  static wants(req: IncomingMessage): boolean {
    const path = (req.url ?? "").split("?")[0]!;
    return path.endsWith(STREAM_PATH);
  }

  /** Streams open now. */
  get connections(): number {
    return this.#sockets.size;
  }

  /**
   * Answers an upgrade request for {@link STREAM_PATH}: refuses it with a status and JSON, or
   * switches protocols and serves frames on `socket` until it closes.
   */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, running: boolean): void {
    // Node's server leaves an upgraded socket without an error listener: a peer that resets
    // the connection (say, while it reads a refusal) would otherwise crash this process.
    socket.on("error", () => socket.destroy());
    const { nodeId, clusterId } = this.#o;
    const sender = this.#senderName(req);
    const refuse = (status: number, code: PeerErrorCode | "UPGRADE_REQUIRED", message: string): void => {
      this.#log(`${code} ${req.headers[FROM_HEADER] ?? req.socket.remoteAddress}`, status, code, message);
      const body = JSON.stringify({ error: { code, message } });
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    };
    const protocol = String(req.headers.upgrade ?? "").toLowerCase();
    if (protocol !== STREAM_PROTOCOL) {
      refuse(
        426,
        "UPGRADE_REQUIRED",
        `node ${nodeId} serves peer streams as "Upgrade: ${STREAM_PROTOCOL}", not "${protocol}"; run the same raftkit version on every node`,
      );
      return;
    }
    const auth = req.headers.authorization;
    if (!this.#checkSecret(auth)) {
      const what = auth === undefined ? "carries no cluster secret" : "carries a wrong cluster secret";
      refuse(
        401,
        "UNAUTHORIZED",
        `node ${nodeId} refused a peer stream from ${sender}: it ${what} (expected "Authorization: Bearer <secret>"); give every node of cluster "${clusterId}" the same secret`,
      );
      return;
    }
    const cluster = decodeHeader(req.headers[CLUSTER_HEADER]);
    if (cluster !== clusterId) {
      refuse(
        403,
        "WRONG_CLUSTER",
        `node ${nodeId} belongs to cluster "${clusterId}" but the peer stream from ${sender} is for ${cluster === undefined ? "no cluster (header missing)" : `cluster "${cluster}"`}; check the peers map and clusterId on that node`,
      );
      return;
    }
    const to = decodeHeader(req.headers[TO_HEADER]);
    if (to !== undefined && to !== nodeId) {
      refuse(
        400,
        "WRONG_RECIPIENT",
        `a peer stream for node "${to}" reached node "${nodeId}"; fix the address of "${to}" in the peers of ${sender}`,
      );
      return;
    }
    if (!running) {
      refuse(503, "NOT_RUNNING", new TransportNotRunningError(nodeId).message);
      return;
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${STREAM_PROTOCOL}\r\n\r\n`,
    );
    const from = decodeHeader(req.headers[FROM_HEADER]);
    if (from) this.#o.onPeerStream?.(from);
    this.#serve(socket, head, sender);
  }

  /** Closes every stream. */
  close(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  #serve(socket: Duplex, head: Buffer, sender: string): void {
    const { nodeId, handler } = this.#o;
    this.#sockets.add(socket);
    const net = socket as Duplex & { setNoDelay?(v: boolean): void; setTimeout?(ms: number): void };
    net.setNoDelay?.(true);
    const decoder = new FrameDecoder(this.#o.maxBodyBytes);
    const end = (code: PeerErrorCode, message: string): void => {
      this.#log(`${code} ${sender}`, 0, code, message);
      socket.end(closeFrame(code, message));
      socket.removeListener("data", onData);
    };
    const onFrame = (kind: number, payload: Buffer): void => {
      if (kind === FRAME_PING) {
        socket.write(encodeFrame(FRAME_PONG));
        return;
      }
      if (kind !== FRAME_MESSAGES) return; // PONG and CLOSE need no answer; unknown kinds are skipped
      let messages: Message[];
      try {
        messages = decodeMessages(payload);
      } catch (e) {
        if (!(e instanceof MalformedMessageError)) throw e;
        throw new FrameError("MALFORMED_MESSAGE", `from ${sender}: ${e.message}`);
      }
      const problem = messageProblem(messages, nodeId, sender);
      if (problem) throw new FrameError(problem.code, problem.message);
      if (messages.length > 0) this.#o.onReceived?.(messages[0]!.from, payload.byteLength);
      handler.receive(messages);
    };
    const onData = (chunk: Buffer): void => {
      try {
        decoder.push(chunk, onFrame);
      } catch (e) {
        if (e instanceof FrameError) end(e.code, e.message);
        else if (e instanceof TransportNotRunningError) end("NOT_RUNNING", e.message);
        else end("HANDLER_FAILED", `node ${nodeId} failed to take the messages: ${(e as Error).message}`);
      }
    };
    socket.on("data", onData);
    socket.on("close", () => this.#sockets.delete(socket));
    if (net.setTimeout) {
      net.setTimeout(this.#o.idleTimeoutMs);
      socket.on("timeout", () => socket.destroy());
    }
    if (head.byteLength > 0) onData(head);
  }

  #senderName(req: IncomingMessage): string {
    const from = decodeHeader(req.headers[FROM_HEADER]);
    const addr = req.socket.remoteAddress ?? "unknown address";
    return from ? `node ${JSON.stringify(from).slice(0, 80)} (${addr})` : `a client at ${addr}`;
  }

  /** Logs a refusal, each kind once a minute per sender. */
  #log(key: string, status: number, code: string, message: string): void {
    const now = Date.now();
    if ((this.#lastLogged.get(key) ?? -Infinity) + 60_000 > now) return;
    if (this.#lastLogged.size >= 256) this.#lastLogged.clear();
    this.#lastLogged.set(key, now);
    const what = status ? `answered a peer stream ${status} ${code}` : `closed a peer stream: ${code}`;
    const line = `raftkit transport: node ${this.#o.nodeId} ${what}: ${message}`;
    if (code === "HANDLER_FAILED") this.#logger.error(line);
    else this.#logger.warn(line);
  }
}
