import http from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError, type Message } from "@raftkit/core";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { encodeMessages } from "../src/codec.js";
import { HttpTransport, type HttpTransportOptions } from "../src/httpTransport.js";
import { startPeerServer, type TlsServerOptions } from "../src/peerServer.js";
import {
  append,
  authHeaders,
  blackHole,
  CLUSTER,
  deadUrl,
  eventually,
  rawPost,
  recordingHandler,
  SECRET,
  snapshotMessage,
} from "./helpers.js";
import { selfSignedCert } from "./selfSignedCert.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

function transport(nodeId: string, over: Partial<HttpTransportOptions> = {}): HttpTransport {
  const t = new HttpTransport({ nodeId, clusterId: CLUSTER, secret: SECRET, peers: {}, ...over });
  cleanups.push(() => t.stop());
  return t;
}

/** A started transport with its own peer server; returns the URL peers reach it at. */
async function node(nodeId: string, over: Partial<HttpTransportOptions> = {}, tls?: TlsServerOptions) {
  const t = transport(nodeId, over);
  const h = recordingHandler();
  await t.start(h);
  const server = await startPeerServer({ transport: t, host: "127.0.0.1", port: 0, ...(tls ? { tls } : {}) });
  cleanups.push(() => server.close());
  return { t, h, url: server.url };
}

/** A user's express app serving its own routes and the router, counting peer requests. */
async function userApp(router: express.Router, prefix = "") {
  const counts = { messages: 0, snapshots: 0, snapshotChunks: 0, connections: 0 };
  const app = express();
  app.use(express.json());
  app.use((req, _res, next) => {
    if (req.path.endsWith("/raft/messages")) counts.messages++;
    if (req.path.endsWith("/raft/snapshot")) {
      counts.snapshots++;
      req.on("data", () => counts.snapshotChunks++);
    }
    next();
  });
  app.get("/api/hello", (_req, res) => {
    res.json({ hello: "world" });
  });
  app.post("/api/echo", (req, res) => {
    res.json(req.body);
  });
  if (prefix) app.use(prefix, router);
  else app.use(router);
  const server = http.createServer(app);
  server.on("connection", () => counts.connections++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(
    () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, counts };
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

describe("HttpTransport", () => {
  it("delivers messages both ways", async () => {
    const a = await node("n1");
    const b = await node("n2");
    a.t.addPeer("n2", b.url);
    b.t.addPeer("n1", a.url);
    const ab = append("n1", "n2", 10);
    const ba = append("n2", "n1", 20);
    a.t.send([ab]);
    b.t.send([ba]);
    await eventually(() => expect(b.h.received).toEqual([ab]));
    await eventually(() => expect(a.h.received).toEqual([ba]));
    await eventually(() =>
      expect(a.t.stats().n2).toMatchObject({ messagesSent: 1, requests: 1, inflightRequests: 0 }),
    );
    expect(a.t.stats().n2).toMatchObject({ requestsFailed: 0, messagesDropped: 0, lastError: null });
    expect(a.h.unreachable).toEqual([]);
  });

  it("coalesces everything queued for a peer into few requests", async () => {
    const a = await node("n1");
    const b = transport("n2");
    const hb = recordingHandler();
    await b.start(hb);
    const app = await userApp(b.router);
    a.t.addPeer("n2", app.url);
    for (let i = 0; i < 500; i++) a.t.send([append("n1", "n2", i)]);
    await eventually(() => expect(hb.received).toHaveLength(500));
    expect(hb.received.map((m) => m.index)).toEqual([...Array(500).keys()]);
    expect(app.counts.messages).toBe(1);
    // Later sends, made while a request is in flight, wait and go out together.
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 25; i++) a.t.send([append("n1", "n2", 1000 + round * 25 + i)]);
      await new Promise((r) => setImmediate(r));
    }
    await eventually(() => expect(hb.received).toHaveLength(1000));
    expect(app.counts.messages).toBeLessThanOrEqual(21);
    // Over kept-alive connections: at most one per request slot (maxInflightRequests is 2).
    expect(app.counts.connections).toBeLessThanOrEqual(2);
    await eventually(() =>
      expect(a.t.stats().n2).toMatchObject({ messagesSent: 1000, requests: app.counts.messages }),
    );
  });

  it("reports a peer that is down unreachable, and says why", async () => {
    const a = await node("n1");
    a.t.addPeer("n2", await deadUrl());
    a.t.send([append("n1", "n2", 1)]);
    await eventually(() => expect(a.h.unreachable).toContain("n2"));
    expect(a.t.stats().n2).toMatchObject({ requestsFailed: 1, messagesDropped: 1, queuedMessages: 0 });
    expect(a.t.stats().n2?.lastError).toMatch(/ECONNREFUSED/);
  });

  it("keeps each peer's queue bounded when the peer does not answer, and stop() aborts", async () => {
    const hole = await blackHole();
    cleanups.push(() => hole.close());
    const a = await node("n1", { maxInflightRequests: 1, maxQueueMessages: 50, maxQueueBytes: 64 * 1024 });
    a.t.addPeer("n2", hole.url);
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 100; i++) a.t.send([append("n1", "n2", round * 100 + i, new Uint8Array(100))]);
      await new Promise((r) => setImmediate(r));
    }
    await eventually(() => expect(hole.requests()).toBe(1));
    const stats = a.t.stats().n2!;
    expect(stats.inflightRequests).toBe(1);
    expect(stats.queuedMessages).toBeLessThanOrEqual(50);
    expect(stats.messagesDropped).toBeGreaterThanOrEqual(1000 - 50 - 100);
    expect(a.h.unreachable).toContain("n2");

    // The byte bound holds too: 10 KiB entries, 64 KiB of queue.
    for (let i = 0; i < 100; i++) a.t.send([append("n1", "n2", i, new Uint8Array(10 * 1024))]);
    expect(a.t.stats().n2!.queuedBytes).toBeLessThanOrEqual(64 * 1024);

    const t0 = performance.now();
    await a.t.stop();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(a.t.stats()).toEqual({});
  });

  it("fails a request that makes no progress within requestTimeoutMs", async () => {
    const hole = await blackHole();
    cleanups.push(() => hole.close());
    const a = await node("n1", { requestTimeoutMs: 100 });
    a.t.addPeer("n2", hole.url);
    a.t.send([append("n1", "n2", 1)]);
    await eventually(() => expect(a.h.unreachable).toEqual(["n2"]));
    expect(a.t.stats().n2?.lastError).toMatch(/no progress for 100 ms/);
  });

  it("reports a message for a peer it has no address for unreachable", async () => {
    const a = await node("n1");
    a.t.send([append("n1", "n7", 1), append("n1", "n7", 2)]);
    // Reported once per send, and not from inside send(): the caller is not re-entered.
    expect(a.h.unreachable).toEqual([]);
    await eventually(() => expect(a.h.unreachable).toEqual(["n7"]));
    a.t.addPeer("n7", await deadUrl());
    a.t.removePeer("n7");
    a.t.send([append("n1", "n7", 1)]);
    await eventually(() => expect(a.h.unreachable).toEqual(["n7", "n7"]));
  });

  it("streams a snapshot in chunks and reports it ok", async () => {
    const a = await node("n1", { snapshotChunkBytes: 64 * 1024 });
    const b = transport("n2");
    const hb = recordingHandler();
    await b.start(hb);
    const app = await userApp(b.router);
    a.t.addPeer("n2", app.url);
    const data = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7) & 0xff);
    const snap = snapshotMessage("n1", "n2", data);
    a.t.send([snap, append("n1", "n2", 5)]);
    await eventually(() => expect(a.h.snapshots).toEqual([{ id: "n2", ok: true }]));
    const got = hb.received.find((m) => m.type === "snapshot")!;
    expect(sameBytes(got.snapshot!.data, data)).toBe(true);
    expect({ ...got, snapshot: { ...got.snapshot!, data: null } }).toEqual({
      ...snap,
      snapshot: { ...snap.snapshot!, data: null },
    });
    expect(app.counts.snapshots).toBe(1);
    expect(app.counts.snapshotChunks).toBeGreaterThan(1);
    expect(a.t.stats().n2).toMatchObject({ snapshotsSent: 1, snapshotsFailed: 0 });
  });

  it("reports a snapshot to a peer that is down not ok", async () => {
    const a = await node("n1");
    a.t.addPeer("n2", await deadUrl());
    a.t.send([snapshotMessage("n1", "n2", new Uint8Array(1000))]);
    await eventually(() => expect(a.h.snapshots).toEqual([{ id: "n2", ok: false }]));
    expect(a.h.unreachable).toEqual(["n2"]);
    expect(a.t.stats().n2).toMatchObject({ snapshotsSent: 0, snapshotsFailed: 1 });
  });

  it("sends one snapshot to a peer at a time, and reports another one meanwhile not ok", async () => {
    const hole = await blackHole();
    cleanups.push(() => hole.close());
    const a = await node("n1");
    a.t.addPeer("n2", hole.url);
    a.t.send([snapshotMessage("n1", "n2", new Uint8Array(1000))]);
    a.t.send([snapshotMessage("n1", "n2", new Uint8Array(1000))]);
    await eventually(() => expect(a.h.snapshots).toEqual([{ id: "n2", ok: false }]));
    expect(a.t.stats().n2).toMatchObject({ inflightRequests: 1, snapshotsFailed: 1 });
    await a.t.stop();
    expect(a.h.snapshots).toHaveLength(1);
  });

  it("reports a snapshot the peer refuses not ok, with the peer's reason", async () => {
    const a = await node("n1");
    const b = await node("n2", { maxSnapshotBytes: 1000 });
    a.t.addPeer("n2", b.url);
    a.t.send([snapshotMessage("n1", "n2", new Uint8Array(5000))]);
    await eventually(() => expect(a.h.snapshots).toEqual([{ id: "n2", ok: false }]));
    expect(a.t.stats().n2?.lastError).toMatch(/413 BODY_TOO_LARGE: node n2 refused a snapshot of 5000 bytes/);
    expect(b.h.received).toEqual([]);
  });

  it("logs a peer that refuses the secret, once, in words a user can act on", async () => {
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (s: string) => void warnings.push(s), error() {} };
    const a = await node("n1", { logger, secret: "not-the-secret" });
    const b = await node("n2");
    a.t.addPeer("n2", b.url);
    a.t.send([append("n1", "n2", 1)]);
    await eventually(() => expect(a.h.unreachable).toEqual(["n2"]));
    a.t.send([append("n1", "n2", 2)]);
    await eventually(() => expect(a.h.unreachable).toEqual(["n2", "n2"]));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /node n1 could not deliver 1 messages to peer n2 at http:\/\/127\.0\.0\.1:\d+\/: the peer refused it with 401 UNAUTHORIZED: .*carries a wrong cluster secret/,
    );
    expect(b.h.received).toEqual([]);
  });

  it("refuses peers' messages with 503 until started", async () => {
    const b = transport("n2");
    const server = await startPeerServer({ router: b.router, host: "127.0.0.1", port: 0 });
    cleanups.push(() => server.close());
    const res = await rawPost(
      `${server.url}/raft/messages`,
      authHeaders(),
      encodeMessages([append("n1", "n2", 1)]),
    );
    expect(res.status).toBe(503);
    expect(res.json?.error).toMatchObject({
      code: "NOT_RUNNING",
      message: expect.stringMatching(/node n2: the HTTP transport is not running/),
    });
  });

  it("works over HTTPS with the peer's certificate authority given as TLS options", async () => {
    const { key, cert } = selfSignedCert();
    const a = await node("n1", { tls: { ca: cert } }, { key, cert });
    const b = await node("n2", { tls: { ca: cert } }, { key, cert });
    expect(b.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    a.t.addPeer("n2", b.url);
    b.t.addPeer("n1", a.url);
    const m = append("n1", "n2", 1);
    a.t.send([m]);
    b.t.send([append("n2", "n1", 2)]);
    await eventually(() => expect(b.h.received).toEqual([m]));
    await eventually(() => expect(a.h.received).toHaveLength(1));
    a.t.send([snapshotMessage("n1", "n2", new Uint8Array(100_000))]);
    await eventually(() => expect(a.h.snapshots).toEqual([{ id: "n2", ok: true }]));

    // Without the CA the self-signed certificate is refused.
    const c = await node("n3");
    c.t.addPeer("n2", b.url);
    c.t.send([append("n3", "n2", 1)]);
    await eventually(() => expect(c.h.unreachable).toEqual(["n2"]));
    expect(c.t.stats().n2?.lastError).toMatch(/self[- ]signed certificate/);
  });

  it("serves peers from a user's own express app, next to its routes, at the root or under a prefix", async () => {
    const a = await node("n1");
    const b = transport("n2");
    const hb = recordingHandler();
    await b.start(hb);
    const root = await userApp(b.router);
    const prefixed = await userApp(b.router, "/internal");
    const hello = (await (await fetch(`${root.url}/api/hello`)).json()) as unknown;
    expect(hello).toEqual({ hello: "world" });
    const echo = await fetch(`${prefixed.url}/api/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ x: 1 }),
    });
    expect(await echo.json()).toEqual({ x: 1 });

    a.t.addPeer("n2", root.url);
    a.t.send([append("n1", "n2", 1)]);
    await eventually(() => expect(hb.received).toHaveLength(1));
    a.t.addPeer("n2", `${prefixed.url}/internal/`);
    a.t.send([append("n1", "n2", 2)]);
    await eventually(() => expect(hb.received.map((m: Message) => m.index)).toEqual([1, 2]));
    expect(prefixed.counts.messages).toBe(1);
  });

  it("refuses bad options with a ConfigError that says what to give", () => {
    expect(() => transport("n1", { peers: { n2: "10.0.0.2:7000" } })).toThrow(ConfigError);
    expect(() => transport("n1", { peers: { n2: "not a url" } })).toThrow(
      /address of peer n2, "not a url", is not a URL; give one like/,
    );
    expect(() => transport("n1", { peers: { n2: "ftp://x" } })).toThrow(
      /must start with http:\/\/ or https:\/\//,
    );
    expect(() => transport("n1", { maxInflightRequests: 0 })).toThrow(
      /maxInflightRequests must be a positive integer/,
    );
    expect(() => transport("n1", { secret: "" })).toThrow(
      /secret must be non-empty printable ASCII without spaces/,
    );
    expect(() => transport("n1", { secret: "with space" })).toThrow(ConfigError);
    expect(() => transport("n1", { peers: { n2: "localhost:7000" } })).toThrow(/must start with http:\/\//);
    // Every node may be given the same map: its own entry is skipped.
    expect(() => transport("n1", { peers: { n1: "not even a url" } })).not.toThrow();
  });
});
