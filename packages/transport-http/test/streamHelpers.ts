import { once } from "node:events";
import http from "node:http";
import type net from "node:net";
import { STREAM_PROTOCOL } from "../src/streamServer.js";
import { authHeaders } from "./helpers.js";

export type UpgradeOutcome =
  | { kind: "refused"; status: number; json: { error?: { code: string; message: string } } | null }
  | { kind: "upgraded"; socket: net.Socket; head: Buffer };

/** Asks `url` (a peer's base URL) for a peer stream with the given headers, as a peer or an attacker would. */
export function rawUpgrade(
  url: string,
  over: Record<string, string | undefined> = {},
): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const u = new URL(`${url.replace(/\/$/, "")}/raft/stream`);
    const headers = authHeaders({
      "content-type": undefined,
      connection: "Upgrade",
      upgrade: STREAM_PROTOCOL,
      ...over,
    });
    const req = http.request(u, { headers, agent: false });
    req.on("upgrade", (_res, socket: net.Socket, head: Buffer) =>
      resolve({ kind: "upgraded", socket, head }),
    );
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (s: string) => (text += s));
      res.on("end", () =>
        resolve({ kind: "refused", status: res.statusCode ?? 0, json: text ? JSON.parse(text) : null }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

/**
 * A server that accepts a peer stream's upgrade and then goes silent: it reads nothing more and
 * answers nothing, as a peer behind a network that drops every packet would.
 */
export async function silentStreamPeer(): Promise<{
  url: string;
  upgrades: () => number;
  close(): Promise<void>;
}> {
  let upgrades = 0;
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.writeHead(500).end());
  server.on("upgrade", (_req, socket: net.Socket) => {
    upgrades++;
    sockets.add(socket);
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${STREAM_PROTOCOL}\r\n\r\n`,
    );
    socket.pause();
    socket.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    upgrades: () => upgrades,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** Collects what arrives on `socket` until it closes. */
export async function readUntilClosed(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  socket.on("error", () => {});
  await once(socket, "close");
  return Buffer.concat(chunks);
}
