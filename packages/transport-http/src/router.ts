import type { IncomingMessage, ServerResponse } from "node:http";
import { type Logger, type Message, type NodeId, silentLogger } from "@raftkit/core";
import express, { type Router } from "express";
import { decodeMessages } from "./codec.js";
import { MalformedMessageError, TransportNotRunningError } from "./errors.js";
import { messageProblem } from "./messageChecks.js";
import { assertSecretFormat, CLUSTER_HEADER, decodeHeader, FROM_HEADER, secretCheck } from "./peerAuth.js";
import { type BodyOutcome, readBody } from "./readBody.js";
import { decodeSnapshotFrame } from "./snapshotFrame.js";
import { STREAM_PATH } from "./streamServer.js";

/** The route that accepts a batch of messages, relative to where the router is mounted. */
export const MESSAGES_PATH = "/raft/messages";
/** The route that accepts one snapshot message, its data streamed after a small header. */
export const SNAPSHOT_PATH = "/raft/snapshot";

/** Default {@link PeerRouterOptions.maxBodyBytes}: 8 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Default {@link PeerRouterOptions.maxSnapshotBytes}: 512 MiB. */
export const DEFAULT_MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024;

/** What receives the messages that passed every check. */
export interface PeerMessageHandler {
  /**
   * Messages from one request, in order. May throw {@link TransportNotRunningError} (answered
   * 503); any other error is answered 500.
   */
  receive(messages: Message[]): void;
}

export interface PeerRouterOptions {
  /** This node: every message must be addressed to it. */
  nodeId: NodeId;
  /** Requests for another cluster are refused with 403. */
  clusterId: string;
  /** The secret every node of the cluster shares; requests without it are refused with 401. */
  secret: string;
  /** Largest message batch accepted, in bytes; larger bodies get 413. Default 8 MiB. */
  maxBodyBytes?: number;
  /** Largest snapshot accepted, in bytes; larger ones get 413. Default 512 MiB. */
  maxSnapshotBytes?: number;
  handler: PeerMessageHandler;
  /** Where refused requests are reported (each kind once a minute per peer). Default: silent. */
  logger?: Logger;
  /** Called with the sender and size of every accepted request. */
  onReceived?: (peer: NodeId, bytes: number) => void;
}

/** The codes of the JSON error body `{ error: { code, message } }` a refused request gets. */
export type PeerErrorCode =
  | "UNAUTHORIZED"
  | "WRONG_CLUSTER"
  | "BODY_TOO_LARGE"
  | "LENGTH_REQUIRED"
  | "MALFORMED_MESSAGE"
  | "WRONG_RECIPIENT"
  | "BODY_CONSUMED"
  | "NOT_RUNNING"
  | "HANDLER_FAILED"
  | "UPGRADE_NOT_ROUTED";

const LOG_EVERY_MS = 60_000;
const MAX_LOG_KEYS = 256;

class Refusal {
  constructor(
    readonly status: number,
    readonly code: PeerErrorCode,
    readonly message: string,
  ) {}
}

/** Who sent a request, as well as can be told, for error messages. */
function senderName(req: IncomingMessage): string {
  const from = decodeHeader(req.headers[FROM_HEADER]);
  const addr = req.socket.remoteAddress ?? "unknown address";
  return from ? `node ${JSON.stringify(from).slice(0, 80)} (${addr})` : `a client at ${addr}`;
}

/**
 * Creates the express router that receives Raft messages from peers, for a user to mount in
 * their own express app (`app.use(router)`, or under a prefix that then belongs in every peer's
 * address). Two routes: `POST /raft/messages` (a batch) and `POST /raft/snapshot` (one
 * snapshot, streamed).
 *
 * Before anything reaches `handler`, each request must carry `Authorization: Bearer <secret>`
 * (else 401; compared in constant time) and the cluster id header (else 403); its body must
 * fit the limits (else 413, cut off as soon as the limit is passed) and decode into messages
 * addressed to `nodeId` (else 400). A refusal is answered with JSON
 * `{ error: { code, message } }`; see {@link PeerErrorCode}. Mount it before any body parser
 * that would consume `application/octet-stream` bodies. Throws a `ConfigError` for a secret
 * that cannot travel in a header.
 */
export function createPeerRouter(options: PeerRouterOptions): Router {
  const { nodeId, clusterId, handler } = options;
  assertSecretFormat(nodeId, options.secret);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxSnapshotBytes = options.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES;
  const logger = options.logger ?? silentLogger;
  const checkSecret = secretCheck(options.secret);
  const lastLogged = new Map<string, number>();

  const refuse = (req: IncomingMessage, res: ServerResponse, r: Refusal, bodyUnread: boolean): void => {
    const key = `${r.code} ${req.headers[FROM_HEADER] ?? req.socket.remoteAddress}`;
    const now = Date.now();
    if ((lastLogged.get(key) ?? -Infinity) + LOG_EVERY_MS <= now) {
      if (lastLogged.size >= MAX_LOG_KEYS) lastLogged.clear();
      lastLogged.set(key, now);
      const line = `raftkit transport: node ${nodeId} answered ${r.status} ${r.code}: ${r.message}`;
      if (r.status === 500) logger.error(line);
      else logger.warn(line);
    }
    if (res.headersSent) return;
    // An unread body would otherwise be drained to keep the connection alive.
    if (bodyUnread) res.setHeader("connection", "close");
    res.statusCode = r.status;
    res.setHeader("content-type", "application/json; charset=utf-8");
    res.end(JSON.stringify({ error: { code: r.code, message: r.message } }));
  };

  /** Checks the headers: the secret and the cluster id. */
  const authorize = (req: IncomingMessage): Refusal | null => {
    const auth = req.headers.authorization;
    if (!checkSecret(auth)) {
      const what = auth === undefined ? "carries no cluster secret" : "carries a wrong cluster secret";
      return new Refusal(
        401,
        "UNAUTHORIZED",
        `node ${nodeId} refused a request from ${senderName(req)}: it ${what} (expected "Authorization: Bearer <secret>"); give every node of cluster "${clusterId}" the same secret`,
      );
    }
    const cluster = decodeHeader(req.headers[CLUSTER_HEADER]);
    if (cluster !== clusterId) {
      return new Refusal(
        403,
        "WRONG_CLUSTER",
        `node ${nodeId} belongs to cluster "${clusterId}" but the request from ${senderName(req)} is for ${cluster === undefined ? "no cluster (header missing)" : `cluster "${cluster}"`}; check the peers map and clusterId on that node`,
      );
    }
    return null;
  };

  /** The body, a refusal, or null when the sender went away (it already knows the request failed). */
  const readWithin = async (
    req: IncomingMessage,
    limit: number,
    what: string,
  ): Promise<Buffer | Refusal | null> => {
    const preParsed = (req as { body?: unknown }).body;
    if (req.readableEnded) {
      if (Buffer.isBuffer(preParsed) && preParsed.byteLength <= limit) return preParsed;
      return new Refusal(
        500,
        "BODY_CONSUMED",
        `node ${nodeId}: a body parser mounted before the raftkit peer router consumed the request body; mount the router before body parsers`,
      );
    }
    const outcome: BodyOutcome = await readBody(req, limit);
    if (outcome.kind === "ok") return outcome.body;
    if (outcome.kind === "tooLarge") {
      return new Refusal(
        413,
        "BODY_TOO_LARGE",
        `node ${nodeId} refused ${what} of ${outcome.bytes} bytes or more from ${senderName(req)}: the limit is ${limit} bytes (maxBodyBytes / maxSnapshotBytes of the receiving node); raise it there or send smaller batches`,
      );
    }
    logger.debug(
      `raftkit transport: node ${nodeId}: ${senderName(req)} aborted a request after ${outcome.received} bytes`,
    );
    return null;
  };

  const checkMessages = (req: IncomingMessage, messages: Message[]): Refusal | null => {
    const problem = messageProblem(messages, nodeId, senderName(req));
    return problem && new Refusal(400, problem.code, problem.message);
  };

  const deliver = (messages: Message[]): Refusal | null => {
    try {
      handler.receive(messages);
      return null;
    } catch (e) {
      if (e instanceof TransportNotRunningError) return new Refusal(503, "NOT_RUNNING", e.message);
      const detail = e instanceof Error ? e.message : String(e);
      return new Refusal(500, "HANDLER_FAILED", `node ${nodeId} failed to take the messages: ${detail}`);
    }
  };

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    limit: number,
    what: string,
    decode: (body: Buffer) => Message[],
  ): Promise<void> => {
    const denied = authorize(req);
    if (denied) return refuse(req, res, denied, true);
    const body = await readWithin(req, limit, what);
    if (body === null) return;
    if (body instanceof Refusal) return refuse(req, res, body, body.status === 413);
    let messages: Message[];
    try {
      messages = decode(body);
    } catch (e) {
      if (e instanceof Refusal) return refuse(req, res, e, false);
      if (!(e instanceof MalformedMessageError)) throw e;
      return refuse(
        req,
        res,
        new Refusal(400, "MALFORMED_MESSAGE", `from ${senderName(req)}: ${e.message}`),
        false,
      );
    }
    const refused = checkMessages(req, messages) ?? deliver(messages);
    if (refused) return refuse(req, res, refused, false);
    if (messages.length > 0) options.onReceived?.(messages[0]!.from, body.byteLength);
    res.statusCode = 204;
    res.end();
  };

  const onError = (req: IncomingMessage, res: ServerResponse) => (e: unknown) => {
    const detail = e instanceof Error ? e.message : String(e);
    refuse(req, res, new Refusal(500, "HANDLER_FAILED", `node ${nodeId}: ${detail}`), !req.readableEnded);
  };

  const router = express.Router();
  // A peer stream request that arrived as a plain request: the server has no upgrade handler
  // for it. The sender falls back to POSTs on this answer.
  router.get(STREAM_PATH, (req, res) => {
    const r = new Refusal(
      426,
      "UPGRADE_NOT_ROUTED",
      `node ${nodeId} got a peer stream request, but its server does not route upgrades to raftkit; call transport.attach(server) (startNode does); ${senderName(req)} sends by POST meanwhile`,
    );
    refuse(req, res, r, false);
  });
  router.post(MESSAGES_PATH, (req, res) => {
    handle(req, res, maxBodyBytes, "a message batch", decodeMessages).catch(onError(req, res));
  });
  router.post(SNAPSHOT_PATH, (req, res) => {
    if (req.headers["content-length"] === undefined) {
      const r = new Refusal(411, "LENGTH_REQUIRED", "a snapshot request must carry a Content-Length header");
      return refuse(req, res, authorize(req) ?? r, true);
    }
    const decodeSnapshot = (body: Buffer): Message[] => {
      const m = decodeSnapshotFrame(body);
      const size = m.snapshot?.data.byteLength ?? 0;
      if (size > maxSnapshotBytes) {
        throw new Refusal(
          413,
          "BODY_TOO_LARGE",
          `node ${nodeId} refused a snapshot of ${size} bytes from ${senderName(req)}: the limit is ${maxSnapshotBytes} bytes (maxSnapshotBytes of the receiving node)`,
        );
      }
      return [m];
    };
    handle(req, res, maxSnapshotBytes + maxBodyBytes, "a snapshot", decodeSnapshot).catch(onError(req, res));
  });
  return router;
}
