import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import express, { type Router } from "express";

/** TLS settings for a peer server (a subset of `https.ServerOptions`); giving them makes it HTTPS. */
export type TlsServerOptions = Pick<
  https.ServerOptions,
  "key" | "cert" | "ca" | "pfx" | "passphrase" | "requestCert" | "rejectUnauthorized" | "minVersion"
>;

/** What {@link startPeerServer} serves (an `HttpTransport`, or any peer router) and where. */
export type PeerServerOptions = (
  | { transport: { readonly router: Router; attach?(server: http.Server | https.Server): void } }
  | { router: Router }
) & {
  /** The interface to listen on, e.g. "0.0.0.0" for every interface or "127.0.0.1" for this machine only. */
  host: string;
  /** 0 picks a free port; the returned `url` tells which. */
  port: number;
  tls?: TlsServerOptions;
};

/** A running peer server. */
export interface PeerServer {
  /** The base URL peers reach it at, e.g. `"https://127.0.0.1:41234"`: the address to give them. */
  readonly url: string;
  readonly server: http.Server | https.Server;
  /** Stops listening and closes every connection, idle keep-alive ones and peer streams included. */
  close(): Promise<void>;
}

/**
 * Starts a standalone express server that serves only the peer routes: HTTP, or HTTPS when
 * `tls` is given. For one port that serves both an application's API and peer traffic, mount
 * the router in the application's own express app instead.
 */
export async function startPeerServer(options: PeerServerOptions): Promise<PeerServer> {
  const app = express();
  app.disable("x-powered-by");
  app.use("transport" in options ? options.transport.router : options.router);
  const server = options.tls
    ? https.createServer({ noDelay: true, ...options.tls }, app)
    : http.createServer({ noDelay: true }, app);
  if ("transport" in options) options.transport.attach?.(server);
  // closeAllConnections() does not reach upgraded sockets (peer streams): track every socket.
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `${options.tls ? "https" : "http"}://${host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      }),
  };
}
