import {
  createServer as createHttpServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
} from "node:http";
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from "node:https";
import type { Duplex } from "node:stream";
import { InvalidOptionsError } from "./startErrors.js";

/** Takes an HTTP Upgrade request (peer streams, createClient's app stream). */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** A server bound before the node starts, whose requests go to `handler` once it is set. */
export interface BoundServer {
  server: Server;
  /** Routes requests from now on (until then they are answered 503 "starting"). */
  serve(handler: RequestListener): void;
  /** Takes Upgrade requests from now on (until then they are refused with 503). */
  upgrade(handler: UpgradeHandler): void;
  /** Closes the server, its connections and every upgraded socket (close() does not reach those). */
  close(): Promise<void>;
}

/**
 * Binds `port` on `host` at once, so a port in use fails the start before any storage is
 * opened or any cluster bootstrapped. Rejects with {@link InvalidOptionsError} on EADDRINUSE
 * and EACCES, naming the address.
 */
export async function listenFirst(o: {
  port: number;
  host: string;
  tls?: HttpsServerOptions;
}): Promise<BoundServer> {
  let handler: RequestListener = (_req, res) => {
    res.writeHead(503, { "content-type": "application/json", "retry-after": "1" });
    res.end(JSON.stringify({ error: { code: "UNAVAILABLE", message: "the node is starting" } }));
  };
  const listener: RequestListener = (req, res) => handler(req, res);
  const server = o.tls
    ? createHttpsServer({ noDelay: true, ...o.tls }, listener)
    : createHttpServer({ noDelay: true }, listener);
  let onUpgrade: UpgradeHandler = (_req, socket) => {
    socket.end("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
  };
  const upgraded = new Set<Duplex>();
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node's server leaves an upgraded socket without an error listener: a reset from the
    // other side would otherwise crash the node, whichever handler answers it.
    socket.on("error", () => socket.destroy());
    upgraded.add(socket);
    socket.once("close", () => upgraded.delete(socket));
    onUpgrade(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      if (e.code === "EADDRINUSE" || e.code === "EACCES")
        reject(
          new InvalidOptionsError(
            "listen",
            `cannot listen on ${o.host}:${o.port} (${e.code === "EADDRINUSE" ? "the port is in use by another process" : "permission denied"}); choose another port or stop what holds it`,
          ),
        );
      else reject(e);
    };
    server.once("error", onError);
    server.listen(o.port, o.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  return {
    server,
    serve(h) {
      handler = h;
    },
    upgrade(h) {
      onUpgrade = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
      }),
  };
}
