import { once } from "node:events";
import http, { type ClientRequest } from "node:http";
import https from "node:https";

/** A peer's answer: its status and (the start of) its body. @internal */
export interface PeerResponse {
  status: number;
  text: string;
}

/** @internal */
export interface PostOptions {
  url: URL;
  agent: http.Agent;
  headers: Record<string, string>;
  /** The request fails when it makes no progress (connect, write, read) for this long. */
  timeoutMs: number;
  signal: AbortSignal;
  /** The body, written in this order with backpressure. */
  chunks: Iterable<Uint8Array>;
}

/** Longest response body kept; peers answer with a short JSON error at most. */
const MAX_RESPONSE_TEXT = 64 * 1024;

async function writeBody(req: ClientRequest, chunks: Iterable<Uint8Array>): Promise<void> {
  for (const chunk of chunks) {
    if (!req.write(chunk)) await once(req, "drain");
  }
  req.end();
}

/**
 * POSTs a body to a peer and resolves with its answer, whatever the status. Rejects when no
 * answer came: connection refused or reset, timeout, abort. An answer that arrives before the
 * body is fully written (a peer refusing early) wins over the write error that follows.
 *
 * @internal
 */
export function postRequest(o: PostOptions): Promise<PeerResponse> {
  return new Promise((resolve, reject) => {
    const request = o.url.protocol === "https:" ? https.request : http.request;
    const req = request(o.url, { method: "POST", agent: o.agent, headers: o.headers, signal: o.signal });
    let answered = false;
    // Raft messages are small and latency-bound: never wait for Nagle's algorithm.
    req.on("socket", (socket) => socket.setNoDelay(true));
    req.setTimeout(o.timeoutMs, () => {
      req.destroy(new Error(`no progress for ${o.timeoutMs} ms (requestTimeoutMs)`));
    });
    req.on("error", (e) => {
      if (!answered) reject(e);
    });
    req.on("response", (res) => {
      answered = true;
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (s: string) => {
        if (text.length < MAX_RESPONSE_TEXT) text += s;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      res.on("error", (e) => reject(e));
      res.on("close", () => {
        if (!res.complete) reject(new Error(`the connection closed during the ${res.statusCode} answer`));
      });
    });
    writeBody(req, o.chunks).catch((e: unknown) => {
      if (!answered) req.destroy(e instanceof Error ? e : new Error(String(e)));
    });
  });
}
