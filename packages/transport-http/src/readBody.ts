import type { IncomingMessage } from "node:http";

/** How reading a request body ended. @internal */
export type BodyOutcome =
  | { kind: "ok"; body: Buffer }
  | { kind: "tooLarge"; bytes: number }
  | { kind: "aborted"; received: number };

/**
 * Reads a request body of at most `limit` bytes. A body whose Content-Length exceeds the limit
 * is refused before a byte is read; a body without one is cut off at the first chunk past the
 * limit, so memory never holds more than `limit` bytes. With a Content-Length the body is read
 * into one buffer of exactly that size.
 *
 * After "tooLarge" the rest of the body is left unread: the caller must answer with
 * `Connection: close`.
 *
 * @internal
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyOutcome> {
  const header = req.headers["content-length"];
  const declared = header === undefined ? null : Number(header);
  if (declared !== null && declared > limit) return Promise.resolve({ kind: "tooLarge", bytes: declared });
  return new Promise((resolve) => {
    const whole = declared === null ? null : Buffer.allocUnsafeSlow(declared);
    const chunks: Buffer[] = [];
    let received = 0;
    const done = (outcome: BodyOutcome): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onClose);
      resolve(outcome);
    };
    const onData = (chunk: Buffer): void => {
      if (received + chunk.byteLength > limit) {
        req.pause();
        done({ kind: "tooLarge", bytes: received + chunk.byteLength });
        return;
      }
      if (whole) chunk.copy(whole, received);
      else chunks.push(chunk);
      received += chunk.byteLength;
    };
    const onEnd = (): void => {
      done({
        kind: "ok",
        body: whole ?? (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received)),
      });
    };
    const onClose = (): void => {
      if (!req.complete) done({ kind: "aborted", received });
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("close", onClose);
  });
}
