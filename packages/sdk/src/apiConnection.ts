import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { ApiStream } from "./apiStream.js";

/** One HTTP exchange's outcome. */
export interface ApiResponse {
  status: number;
  text: string;
}

/**
 * Requests to one app API endpoint over keep-alive connections (node:http: several times
 * cheaper per request than fetch on Node 20). Rejects on network errors and on `timeoutMs`.
 */
export class ApiConnection {
  readonly base: URL;
  readonly #agent: HttpAgent;
  readonly #headers: Record<string, string>;

  constructor(base: string, headers: Record<string, string>) {
    this.base = new URL(base.endsWith("/") ? base : `${base}/`);
    this.#headers = headers;
    const Agent = this.base.protocol === "https:" ? HttpsAgent : HttpAgent;
    this.#agent = new Agent({ keepAlive: true, maxSockets: 16 });
  }

  request(
    method: "GET" | "POST",
    path: string,
    body: string | undefined,
    timeoutMs: number,
  ): Promise<ApiResponse> {
    const url = new URL(path.replace(/^\//, ""), this.base);
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          agent: this.#agent,
          headers: {
            ...this.#headers,
            ...(body !== undefined && {
              "content-type": "application/json",
              "content-length": Buffer.byteLength(body),
            }),
          },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
          );
          res.on("error", reject);
        },
      );
      // Small requests must not wait for Nagle's algorithm (a 40 ms stall with delayed ACKs).
      req.on("socket", (socket) => socket.setNoDelay(true));
      req.on("timeout", () => req.destroy(new Error(`no answer from ${url.origin} within ${timeoutMs} ms`)));
      req.on("error", reject);
      req.end(body);
    });
  }

  /** Opens this endpoint's app stream; see {@link ApiStream.open}. */
  openStream(timeoutMs: number): Promise<ApiStream> {
    return ApiStream.open(this.base, this.#headers, timeoutMs, this.#agent);
  }

  close(): void {
    this.#agent.destroy();
  }
}
