import { createWriteStream } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { pipeline } from "node:stream/promises";

/** A failed request: `status` 0 when there was no HTTP answer (refused, reset, timed out). */
export class RequestError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(url: string, status: number, message: string, body: unknown = null) {
    super(`${url}: ${message}`);
    this.status = status;
    this.body = body;
  }
}

export interface RequestOptions {
  method?: "GET" | "POST";
  secret?: string | undefined;
  /** A JSON body. */
  body?: unknown;
  timeoutMs?: number;
}

/**
 * One HTTP request over node:http with a real deadline: a ref'd timer that destroys the request,
 * so a peer that accepts and never answers (or resets) fails the call instead of leaving the
 * process with nothing to wait on.
 */
function send(
  url: string,
  o: RequestOptions,
  onResponse: (res: IncomingMessage) => Promise<unknown>,
): Promise<unknown> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (o.secret) headers.authorization = `Bearer ${o.secret}`;
    const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
    if (payload !== undefined) headers["content-type"] = "application/json";
    const req = (url.startsWith("https:") ? httpsRequest : httpRequest)(
      url,
      { method: o.method ?? "GET", headers, agent: false },
      (res) => {
        onResponse(res).then(
          (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          (e: unknown) => {
            clearTimeout(timer);
            reject(e);
          },
        );
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new RequestError(url, 0, `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e instanceof RequestError ? e : new RequestError(url, 0, e.message));
    });
    req.end(payload);
  });
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Requests `url` and parses the JSON answer; rejects with {@link RequestError} on a non-2xx status (its message is the API's). */
export async function requestJson<T>(url: string, o: RequestOptions = {}): Promise<T> {
  return (await send(url, o, async (res) => {
    const text = await readAll(res);
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const apiMessage = (body as { error?: { message?: string } } | null)?.error?.message;
      throw new RequestError(
        url,
        status,
        `HTTP ${status}: ${apiMessage ?? String(text).slice(0, 200)}`,
        body,
      );
    }
    return body;
  })) as T;
}

/** Streams `url`'s body into `file` (which must not exist); resolves with the response headers. */
export async function download(
  url: string,
  file: string,
  o: RequestOptions = {},
): Promise<IncomingMessage["headers"]> {
  return (await send(url, o, async (res) => {
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const text = await readAll(res);
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { error: { message: string } }).error.message;
      } catch {}
      throw new RequestError(url, status, `HTTP ${status}: ${message}`);
    }
    await pipeline(res, createWriteStream(file, { flags: "wx" }));
    return res.headers;
  })) as IncomingMessage["headers"];
}
