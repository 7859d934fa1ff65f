import { type IncomingMessage, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import {
  encodeFrame,
  FRAME_CLOSE,
  FRAME_MESSAGES,
  FRAME_PING,
  FRAME_PONG,
  FrameDecoder,
  FrameError,
} from "@raftkit/transport-http";
import { bearerToken, secretMatches } from "./auth.js";
import { type ApiNode, runCall } from "./batchCalls.js";
import type { AnyMachine } from "./types.js";
import { type BatchOutcome, type BatchRequest, decodeBody, encodeBody } from "./wire.js";

/*
 * The app API stream: what createClient keeps open to a node instead of sending a request per
 * batch. Opened with an HTTP/1.1 Upgrade on the app API's path:
 *
 *   GET <apiPath>/stream HTTP/1.1
 *   Connection: Upgrade
 *   Upgrade: raftkit-app/1
 *   Authorization: Bearer <apiSecret>        (when the node has one)
 *
 * answered `101 Switching Protocols`, or a status and a JSON `{ error: { code, message } }`
 * (401 UNAUTHORIZED, 426 UPGRADE_REQUIRED). Then frames as the peer stream's (frames.ts of
 * transport-http), with a superjson text as the payload of kind 1:
 *
 *   client → node   kind 1  [{ id, call: { kind, name, body } }, …]   (the calls of POST /batch)
 *   node → client   kind 1  [{ id, outcome }, …]                      (each call's BatchOutcome)
 *
 * Each call is answered as soon as it is done, not when the slowest of its frame is: answers
 * come in any order, matched by id. PING is answered PONG; a frame over 1 MiB (the body limit of
 * POST /batch) or one that does not decode ends the stream with CLOSE.
 */

/** The app stream's route, under the app API's path. */
export const APP_STREAM_PATH = "/stream";
/** The `Upgrade` protocol token of the app stream. */
export const APP_STREAM_PROTOCOL = "raftkit-app/1";
/** Largest frame payload either side accepts: the body limit of `POST /batch`. */
export const MAX_APP_FRAME_BYTES = 1024 * 1024;

/** One call on the app stream, and its answer. @internal */
export interface StreamCall {
  id: number;
  call: BatchRequest["calls"][number];
}
/** @internal */
export interface StreamAnswer {
  id: number;
  outcome: BatchOutcome;
}

function refuse(socket: Duplex, status: number, code: string, message: string, node: string): void {
  const body = JSON.stringify({ error: { code, message, node } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * Returns an upgrade handler serving the app stream of `node` at `<apiPath>/stream`: it answers
 * such a request (refusing or switching) and returns true, or returns false and touches nothing.
 *
 * @internal
 */
export function appStreamHandler<M extends AnyMachine>(
  node: ApiNode<M>,
  apiPath: string,
  secret: string | null,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean {
  const path = `${apiPath.replace(/\/$/, "")}${APP_STREAM_PATH}`;
  return (req, socket, head) => {
    if ((req.url ?? "").split("?")[0] !== path) return false;
    // Node's server leaves an upgraded socket without an error listener: a client that resets
    // the connection (say, while it reads a refusal) would otherwise crash the node.
    socket.on("error", () => socket.destroy());
    if (secret !== null && !secretMatches(bearerToken(req.headers.authorization), secret)) {
      refuse(
        socket,
        401,
        "UNAUTHORIZED",
        "missing or wrong secret: send Authorization: Bearer <secret>",
        node.id,
      );
      return true;
    }
    const protocol = String(req.headers.upgrade ?? "").toLowerCase();
    if (protocol !== APP_STREAM_PROTOCOL) {
      refuse(
        socket,
        426,
        "UPGRADE_REQUIRED",
        `the app stream speaks "Upgrade: ${APP_STREAM_PROTOCOL}", not "${protocol}"`,
        node.id,
      );
      return true;
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${APP_STREAM_PROTOCOL}\r\n\r\n`,
    );
    serve(node, socket, head);
    return true;
  };
}

function serve<M extends AnyMachine>(node: ApiNode<M>, socket: Duplex, head: Buffer): void {
  (socket as Duplex & { setNoDelay?(v: boolean): void }).setNoDelay?.(true);
  const decoder = new FrameDecoder(MAX_APP_FRAME_BYTES);
  let answers: StreamAnswer[] = [];
  let closed = false;
  const flush = (): void => {
    const out = answers;
    answers = [];
    if (!closed) socket.write(encodeFrame(FRAME_MESSAGES, Buffer.from(encodeBody(out))));
  };
  const answer = (a: StreamAnswer): void => {
    if (answers.push(a) === 1) queueMicrotask(flush);
  };
  const end = (code: string, message: string): void => {
    closed = true;
    socket.end(
      encodeFrame(FRAME_CLOSE, Buffer.from(JSON.stringify({ error: { code, message, node: node.id } }))),
    );
    socket.removeListener("data", onData);
  };
  const onFrame = (kind: number, payload: Buffer): void => {
    if (kind === FRAME_PING) {
      socket.write(encodeFrame(FRAME_PONG));
      return;
    }
    if (kind !== FRAME_MESSAGES) return;
    let calls: StreamCall[];
    try {
      calls = decodeBody<StreamCall[]>(payload.toString("utf8"));
    } catch (e) {
      throw new FrameError(
        "MALFORMED_MESSAGE",
        `a frame of calls that does not decode: ${(e as Error).message}`,
      );
    }
    if (!Array.isArray(calls))
      throw new FrameError("MALFORMED_MESSAGE", "a frame of calls must hold an array");
    for (const { id, call } of calls) void runCall(node, call).then((outcome) => answer({ id, outcome }));
  };
  const onData = (chunk: Buffer): void => {
    try {
      decoder.push(chunk, onFrame);
    } catch (e) {
      end(e instanceof FrameError ? e.code : "INTERNAL", (e as Error).message);
    }
  };
  socket.on("data", onData);
  socket.on("close", () => {
    closed = true;
  });
  if (head.byteLength > 0) onData(head);
}
