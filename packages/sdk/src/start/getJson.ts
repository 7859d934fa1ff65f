import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";

/**
 * GETs `url` and parses its JSON body; resolves null on any failure (refused, reset, a non-2xx
 * status, a bad body) and once `timeoutMs` has passed, whatever the peer does. The timer is a
 * real (ref'd) one: a process waiting on it does not exit early.
 */
export function getJson(url: string, headers: Record<string, string>, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (v: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    const req = (url.startsWith("https:") ? httpsRequest : httpRequest)(
      url,
      { headers, agent: false },
      (res: IncomingMessage) => {
        if (!res.statusCode || res.statusCode < 200 || res.statusCode >= 300) return done(null);
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", () => done(null));
        res.on("end", () => {
          try {
            done(JSON.parse(Buffer.concat(chunks).toString("utf8")));
          } catch {
            done(null);
          }
        });
      },
    );
    req.on("error", () => done(null));
    req.end();
  });
}
