import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import { encodeFrame, FRAME_CLOSE, FRAME_MESSAGES, FRAME_PING, FrameDecoder } from "@raftkit/transport-http";
import {
  APP_STREAM_PATH,
  APP_STREAM_PROTOCOL,
  MAX_APP_FRAME_BYTES,
  type StreamAnswer,
  type StreamCall,
} from "./appStream.js";
import type { BatchOutcome } from "./wire.js";
import { decodeBody, encodeBody } from "./wire.js";

/** Calls per frame at most: a frame is decoded at once on the node, so keep each one short. */
const CALLS_PER_FRAME = 128;

/** The node has no app stream (an older version, or a server of the user's own): use requests. */
export class StreamUnsupportedError extends Error {}

interface Pending {
  resolve(o: BatchOutcome): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * createClient's connection to one node's app stream (appStream.ts): calls made in one turn of
 * the event loop go out in one frame, each answered on its own as soon as the node is done with
 * it. A call that gets no answer within `timeoutMs` fails alone; when the connection breaks,
 * every call waiting on it fails (the client retries them with their session and sequence
 * number, so each command is applied at most once).
 *
 * @internal
 */
export class ApiStream {
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  readonly #timeoutMs: number;
  #outgoing: StreamCall[] = [];
  #nextId = 0;
  #closed: Error | null = null;
  #lastHeard = performance.now();
  readonly #pinger: NodeJS.Timeout;

  private constructor(socket: Socket, head: Buffer, timeoutMs: number) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    socket.setNoDelay(true);
    // Like an idle keep-alive socket, an idle stream does not keep the process alive.
    socket.unref();
    const decoder = new FrameDecoder(MAX_APP_FRAME_BYTES * 4);
    const onData = (chunk: Buffer): void => {
      this.#lastHeard = performance.now();
      try {
        decoder.push(chunk, (kind, payload) => this.#onFrame(kind, payload));
      } catch (e) {
        socket.destroy(e as Error);
      }
    };
    socket.on("data", onData);
    socket.on("error", (e) => this.#fail(e));
    socket.on("close", () => this.#fail(new Error("the app stream closed")));
    // While calls wait, a silent connection (a node gone without a FIN) is noticed by its PINGs.
    this.#pinger = setInterval(
      () => {
        if (this.#pending.size === 0) {
          this.#lastHeard = performance.now();
          return;
        }
        if (performance.now() - this.#lastHeard > timeoutMs) {
          socket.destroy(new Error(`the app stream was silent for ${timeoutMs} ms`));
        } else socket.write(encodeFrame(FRAME_PING));
      },
      Math.max(50, Math.floor(timeoutMs / 4)),
    );
    this.#pinger.unref();
    if (head.byteLength > 0) onData(head);
  }

  /**
   * Opens the app stream of the node whose app API is at `base`. Rejects with
   * {@link StreamUnsupportedError} when the node answers without switching (404, 426, …),
   * with another error when it cannot be reached.
   */
  static open(
    base: URL,
    headers: Record<string, string>,
    timeoutMs: number,
    agent: http.Agent,
  ): Promise<ApiStream> {
    const url = new URL(`${base.pathname.replace(/\/$/, "")}${APP_STREAM_PATH}`, base);
    const request = url.protocol === "https:" ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = request(url, {
        // The agent brings the TLS options of the caller's https endpoint; upgrades leave its pool.
        agent,
        headers: { ...headers, connection: "Upgrade", upgrade: APP_STREAM_PROTOCOL },
        timeout: timeoutMs,
      });
      req.on("upgrade", (_res, socket: Socket, head: Buffer) =>
        resolve(new ApiStream(socket, head, timeoutMs)),
      );
      req.on("response", (res) => {
        res.resume();
        reject(new StreamUnsupportedError(`${url.origin} answered the app stream with ${res.statusCode}`));
      });
      req.on("timeout", () => req.destroy(new Error(`no answer from ${url.origin} within ${timeoutMs} ms`)));
      req.on("error", reject);
      req.end();
    });
  }

  /** False once the connection broke or was closed: open another. */
  get open(): boolean {
    return this.#closed === null;
  }

  /** Sends one call; resolves with its outcome, rejects when the connection breaks or it times out. */
  call(call: StreamCall["call"]): Promise<BatchOutcome> {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        if (this.#pending.size === 0) this.#socket.unref();
        reject(new Error(`no answer on the app stream within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      if (this.#pending.size === 0) this.#socket.ref();
      this.#pending.set(id, { resolve, reject, timer });
      if (this.#outgoing.push({ id, call }) === 1) queueMicrotask(() => this.#flush());
    });
  }

  close(): void {
    this.#socket.destroy();
    this.#fail(new Error("the client closed the app stream"));
  }

  #flush(): void {
    const calls = this.#outgoing;
    this.#outgoing = [];
    if (this.#closed) return;
    this.#socket.cork();
    for (let i = 0; i < calls.length; i += CALLS_PER_FRAME) this.#write(calls.slice(i, i + CALLS_PER_FRAME));
    this.#socket.uncork();
  }

  /** Writes calls in as few frames as fit the node's limit; a call that alone exceeds it fails. */
  #write(calls: StreamCall[]): void {
    const payload = Buffer.from(encodeBody(calls));
    if (payload.byteLength <= MAX_APP_FRAME_BYTES) {
      this.#socket.write(encodeFrame(FRAME_MESSAGES, payload));
    } else if (calls.length > 1) {
      const half = calls.length >> 1;
      this.#write(calls.slice(0, half));
      this.#write(calls.slice(half));
    } else {
      const id = calls[0]!.id;
      const p = this.#pending.get(id);
      this.#pending.delete(id);
      if (p === undefined) return;
      clearTimeout(p.timer);
      p.reject(
        new RangeError(
          `the call takes ${payload.byteLength} bytes, more than the ${MAX_APP_FRAME_BYTES} a node accepts`,
        ),
      );
    }
  }

  #onFrame(kind: number, payload: Buffer): void {
    if (kind === FRAME_CLOSE) throw new Error(`the node closed the app stream: ${payload.toString("utf8")}`);
    if (kind !== FRAME_MESSAGES) return;
    for (const { id, outcome } of decodeBody<StreamAnswer[]>(payload.toString("utf8"))) {
      const p = this.#pending.get(id);
      if (p === undefined) continue;
      this.#pending.delete(id);
      clearTimeout(p.timer);
      p.resolve(outcome);
    }
    if (this.#pending.size === 0) this.#socket.unref();
  }

  #fail(e: Error): void {
    if (this.#closed) return;
    this.#closed = e;
    clearInterval(this.#pinger);
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.#pending.clear();
    this.#outgoing = [];
  }
}
