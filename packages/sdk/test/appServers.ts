import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { type AppApiOptions, createAppRouter } from "../src/httpApi.js";
import type { AnyMachine } from "../src/types.js";
import type { LocalCluster } from "./localCluster.js";

/** The servers {@link serveApp} started, by base URL. */
const servers = new Map<string, Server>();

/**
 * Serves `node`'s app API at `/raftkit` on a free port of 127.0.0.1; resolves with the server's
 * base URL (without `/raftkit`). `urls` is read on each request, so it may be filled in later.
 */
export async function serveApp<M extends AnyMachine>(
  node: Parameters<typeof createAppRouter<M>>[0],
  urls: Record<string, string>,
  options?: AppApiOptions,
): Promise<string> {
  const app = express();
  app.use(
    "/raftkit",
    createAppRouter(node, () => urls, options),
  );
  const server = app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.set(url, server);
  return url;
}

/** Serves every node of `c` (see {@link serveApp}); resolves with the app API endpoint of each, in `c.ids` order. */
export async function serveCluster<M extends AnyMachine>(
  c: LocalCluster<M>,
  options?: AppApiOptions,
): Promise<string[]> {
  const urls: Record<string, string> = {};
  for (const id of c.ids) urls[id] = await serveApp(c.node(id), urls, options);
  return c.ids.map((id) => `${urls[id]}/raftkit`);
}

/** Stops serving `endpoint` (a URL {@link serveApp} or {@link serveCluster} gave), dropping its open connections. */
export async function closeAppServer(endpoint: string): Promise<void> {
  const url = new URL(endpoint).origin;
  const server = servers.get(url);
  if (!server) return;
  servers.delete(url);
  const closed = new Promise((r) => server.close(r));
  server.closeAllConnections();
  await closed;
}

/** Closes every server {@link serveApp} started (call it in afterEach). */
export async function closeAppServers(): Promise<void> {
  for (const url of [...servers.keys()]) await closeAppServer(url);
}
