import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { encodeMessages } from "../src/codec.js";
import {
  encodeFrame,
  FRAME_CLOSE,
  FRAME_MESSAGES,
  FRAME_PING,
  FRAME_PONG,
  frameHeader,
} from "../src/frames.js";
import { HttpTransport, type HttpTransportOptions } from "../src/httpTransport.js";
import { type PeerServer, startPeerServer, type TlsServerOptions } from "../src/peerServer.js";
import {
  append,
  blackHole,
  CLUSTER,
  eventually,
  recordingHandler,
  SECRET,
  snapshotMessage,
} from "./helpers.js";
import { selfSignedCert } from "./selfSignedCert.js";
import { rawUpgrade, readUntilClosed, silentStreamPeer } from "./streamHelpers.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

function transport(nodeId: string, over: Partial<HttpTransportOptions> = {}): HttpTransport {
  const t = new HttpTransport({
    nodeId,
    clusterId: CLUSTER,
    secret: SECRET,
    peers: {},
    stream: true,
    ...over,
  });
  cleanups.push(() => t.stop());
  return t;
}

/** A started streaming transport with its own peer server (which routes upgrades to it). */
async function node(
  nodeId: string,
  over: Partial<HttpTransportOptions> = {},
  port = 0,
  tls?: TlsServerOptions,
) {
  const t = transport(nodeId, over);
  const h = recordingHandler();
  await t.start(h);
  const server: PeerServer = await startPeerServer({
    transport: t,
    host: "127.0.0.1",
    port,
    ...(tls ? { tls } : {}),
  });
  cleanups.push(() => (server.server.listening ? server.close() : Promise.resolve()));
  return { t, h, url: server.url, server };
}

describe("HttpTransport with peer streams", () => {
  it("delivers messages both ways over one stream per direction, in order, without a request per batch", async () => {
    const b = await node("n2");
    const a = await node("n1", { peers: { n2: b.url } });
    b.t.addPeer("n1", a.url);
    for (let i = 0; i < 50; i++) a.t.send([append("n1", "n2", i)]);
    b.t.send([append("n2", "n1", 7)]);
    await eventually(() => expect(b.h.received).toHaveLength(50));
    expect(b.h.received.map((m) => m.index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await eventually(() => expect(a.h.received).toHaveLength(1));
    const s = a.t.stats().n2!;
    expect(s.stream).toMatchObject({ state: "open", connects: 1, messagesSent: 50, messagesDropped: 0 });
    expect(s.requests).toBe(0);
    expect(a.h.unreachable).toEqual([]);
  });

  it("flush() writes what send() queued before it returns, one frame per peer, instead of at the end of the turn", async () => {
    const b = await node("n2");
    const a = await node("n1", { peers: { n2: b.url } });
    a.t.send([append("n1", "n2", 0)]);
    await eventually(() => expect(b.h.received).toHaveLength(1));
    const framesBefore = a.t.stats().n2!.stream!.framesSent;
    a.t.send([append("n1", "n2", 1), append("n1", "n2", 2)]);
    a.t.flush();
    expect(a.t.stats().n2!.stream!.framesSent).toBe(framesBefore + 1);
    await eventually(() => expect(b.h.received.map((m) => m.index)).toEqual([0, 1, 2]));
  });

  it("refuses a stream with a missing or wrong secret with 401 and a JSON reason, and the sender reports the peer unreachable", async () => {
    const b = await node("n2");
    const none = await rawUpgrade(b.url, { authorization: undefined });
    expect(none).toMatchObject({ kind: "refused", status: 401, json: { error: { code: "UNAUTHORIZED" } } });
    const wrong = await rawUpgrade(b.url, { authorization: "Bearer nope" });
    expect(wrong.kind === "refused" && wrong.json?.error?.message).toMatch(/wrong cluster secret/);

    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (s: string) => warnings.push(s), error() {} };
    const a = await node("n1", { peers: { n2: b.url }, secret: "another-secret", logger });
    a.t.send([append("n1", "n2", 1)]);
    await eventually(() => expect(a.h.unreachable).toContain("n2"));
    expect(b.h.received).toEqual([]);
    expect(warnings.join("\n")).toMatch(/401 UNAUTHORIZED.*same secret/);
  });

  it("refuses a stream for another cluster (403) or another node (400), and a stream protocol it does not speak (426)", async () => {
    const b = await node("n2");
    expect(await rawUpgrade(b.url, { "x-raftkit-cluster-id": "other" })).toMatchObject({
      status: 403,
      json: { error: { code: "WRONG_CLUSTER" } },
    });
    expect(await rawUpgrade(b.url, { "x-raftkit-to": "n9" })).toMatchObject({
      status: 400,
      json: { error: { code: "WRONG_RECIPIENT" } },
    });
    expect(await rawUpgrade(b.url, { upgrade: "websocket" })).toMatchObject({
      status: 426,
      json: { error: { code: "UPGRADE_REQUIRED" } },
    });
  });

  it("refuses streams with 503 until started", async () => {
    const t = transport("n2");
    const server = await startPeerServer({ transport: t, host: "127.0.0.1", port: 0 });
    cleanups.push(() => server.close());
    expect(await rawUpgrade(server.url)).toMatchObject({
      status: 503,
      json: { error: { code: "NOT_RUNNING" } },
    });
  });

  it("closes a stream that announces a frame over maxBodyBytes, saying why, before its payload arrives", async () => {
    const b = await node("n2", { maxBodyBytes: 1024 });
    const up = await rawUpgrade(b.url);
    if (up.kind !== "upgraded") throw new Error(`expected an upgrade, got ${up.status}`);
    const closed = readUntilClosed(up.socket);
    up.socket.write(frameHeader(FRAME_MESSAGES, 4096));
    const bytes = await closed;
    expect(bytes[4]).toBe(FRAME_CLOSE);
    const reason = JSON.parse(bytes.subarray(5).toString("utf8")) as {
      error: { code: string; message: string };
    };
    expect(reason.error.code).toBe("BODY_TOO_LARGE");
    expect(reason.error.message).toMatch(/4096 payload bytes exceeds the limit of 1024/);
    expect(b.h.received).toEqual([]);
  });

  it("closes a stream that sends a batch for another node (after delivering the good one before it), and answers PING with PONG", async () => {
    const b = await node("n2");
    const up = await rawUpgrade(b.url);
    if (up.kind !== "upgraded") throw new Error("expected an upgrade");
    const closed = readUntilClosed(up.socket);
    up.socket.write(encodeFrame(FRAME_PING));
    up.socket.write(encodeFrame(FRAME_MESSAGES, encodeMessages([append("n1", "n2", 1)])));
    up.socket.write(encodeFrame(FRAME_MESSAGES, encodeMessages([append("n1", "n3", 2)])));
    const bytes = await closed;
    expect(bytes[4]).toBe(FRAME_PONG);
    expect(bytes[9]).toBe(FRAME_CLOSE);
    expect(bytes.subarray(10).toString("utf8")).toMatch(/WRONG_RECIPIENT/);
    expect(b.h.received.map((m) => m.index)).toEqual([1]);
  });

  it("reconnects with backoff after the peer's server restarts, and reports the peer unreachable meanwhile", async () => {
    const b = await node("n2");
    const port = Number(new URL(b.url).port);
    const a = await node("n1", { peers: { n2: b.url } });
    a.t.send([append("n1", "n2", 1)]);
    await eventually(() => expect(b.h.received).toHaveLength(1));
    await b.server.close();
    await b.t.stop();
    await eventually(() => expect(a.h.unreachable).toContain("n2"));
    a.t.send([append("n1", "n2", 2)]);

    const b2 = await node("n2", {}, port);
    await eventually(() => {
      a.t.send([append("n1", "n2", 3)]);
      expect(b2.h.received.map((m) => m.index)).toContain(3);
    });
    expect(a.t.stats().n2!.stream).toMatchObject({ state: "open", lastError: null });
    expect(a.t.stats().n2!.stream!.connects).toBe(2);
  });

  it("opens its stream to every peer when it starts, before it sends anything, and to a peer added later", async () => {
    const b = await node("n2");
    const c = await node("n3");
    const a = transport("n1", { peers: { n2: b.url } });
    expect(a.stats().n2!.stream!.state).toBe("idle");
    await a.start(recordingHandler());
    await eventually(() => expect(a.stats().n2!.stream!.state).toBe("open"));
    a.addPeer("n3", c.url);
    await eventually(() => expect(a.stats().n3!.stream!.state).toBe("open"));
    expect(a.stats().n2!.stream!.messagesSent).toBe(0);
  });

  it("reopens a stream waiting out a long backoff as soon as the restarted peer's messages arrive", async () => {
    const b = await node("n2");
    const port = Number(new URL(b.url).port);
    const a = await node("n1", { peers: { n2: b.url }, streamReconnectMaxMs: 60_000 });
    a.t.send([append("n1", "n2", 1)]);
    await eventually(() => expect(b.h.received).toHaveLength(1));
    await b.server.close();
    await b.t.stop();
    // Down long enough for the waits to double to over a second (20, 40, … ms).
    await eventually(() => expect(a.t.stats().n2!.stream!.backoffMs).toBeGreaterThanOrEqual(1280));
    const waitingSince = Date.now();
    const pending = a.t.stats().n2!.stream!.backoffMs!;

    const b2 = await node("n2", { peers: { n1: a.url } }, port);
    b2.t.send([append("n2", "n1", 7)]);
    await eventually(() => expect(a.t.stats().n2!.stream!.state).toBe("open"));
    expect(Date.now() - waitingSince).toBeLessThan(pending);
    // What n1 sends now reaches n2 at once.
    a.t.send([append("n1", "n2", 2)]);
    await eventually(() => expect(b2.h.received.map((m) => m.index)).toContain(2));
  });

  it("retries at once, not after its backoff, an attempt that fails after the peer was heard from meanwhile (it was starting)", async () => {
    // A peer that refuses streams with 503 (as a starting node does), or holds one attempt.
    let hold = false;
    let held: Duplex | null = null;
    let upgrades = 0;
    const starting = http.createServer();
    starting.on("upgrade", (_req, socket: Duplex) => {
      upgrades++;
      if (hold && held === null) held = socket;
      else socket.end("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    });
    starting.listen(0, "127.0.0.1");
    await once(starting, "listening");
    cleanups.push(async () => {
      held?.destroy();
      await new Promise((r) => starting.close(r));
    });
    const url = `http://127.0.0.1:${(starting.address() as AddressInfo).port}`;
    const a = await node("n1", { peers: { n2: url }, streamReconnectMaxMs: 60_000 });
    await eventually(() => expect(a.t.stats().n2!.stream!.backoffMs).toBeGreaterThanOrEqual(640));
    hold = true;
    await eventually(() => expect(held).not.toBeNull());
    // While that attempt waits, n2 (now up) opens its own stream to n1.
    const b = await node("n2", { peers: { n1: a.url } });
    await eventually(() => expect(b.t.stats().n1!.stream!.state).toBe("open"));
    const before = upgrades;
    const answeredAt = Date.now();
    held!.end("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    await eventually(() => expect(upgrades).toBeGreaterThan(before));
    // Its backoff was over a second by then.
    expect(Date.now() - answeredAt).toBeLessThan(600);
  });

  it("retries a broken stream at least every streamReconnectMaxMs (default 250 ms)", async () => {
    const b = await node("n2");
    const a = await node("n1", { peers: { n2: b.url } });
    a.t.send([append("n1", "n2", 1)]);
    await eventually(() => expect(b.h.received).toHaveLength(1));
    await b.server.close();
    await b.t.stop();
    const waits = new Set<number>();
    await eventually(() => {
      const w = a.t.stats().n2!.stream!.backoffMs;
      if (w !== null) waits.add(w);
      expect(Math.max(...waits)).toBe(250);
    });
  });

  it("notices a blackholed peer (upgraded, then silent) within streamIdleTimeoutMs and reports it unreachable", async () => {
    const hole = await silentStreamPeer();
    cleanups.push(() => hole.close());
    const a = await node("n1", {
      peers: { n2: hole.url },
      streamPingIntervalMs: 50,
      streamIdleTimeoutMs: 300,
    });
    a.t.send([append("n1", "n2", 1)]);
    await eventually(() => expect(a.t.stats().n2!.stream!.state).toBe("open"));
    const t0 = Date.now();
    await eventually(() => expect(a.h.unreachable).toContain("n2"));
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(a.t.stats().n2!.stream!.lastError).toMatch(/nothing heard for 300 ms/);
    await eventually(() => expect(hole.upgrades()).toBeGreaterThanOrEqual(2));
  });

  it("reports a peer reachable when its stream opens, gone when connecting to it is refused, and reachable again once it is back", async () => {
    const b = await node("n2");
    const port = Number(new URL(b.url).port);
    const a = await node("n1", { peers: { n2: b.url } });
    await eventually(() => expect(a.h.reachable).toEqual(["n2"]));
    expect(a.h.gone).toEqual([]);
    await b.server.close();
    await b.t.stop();
    await eventually(() => expect(a.h.gone).toContain("n2"));
    await node("n2", {}, port);
    await eventually(() => expect(a.h.reachable).toEqual(["n2", "n2"]));
  });

  it("never reports gone a peer that accepts connections but is silent or never answers (slow, or cut off)", async () => {
    const hole = await silentStreamPeer();
    const mute = await blackHole();
    cleanups.push(
      () => hole.close(),
      () => mute.close(),
    );
    const a = await node("n1", {
      peers: { n2: hole.url, n3: mute.url },
      streamPingIntervalMs: 50,
      streamIdleTimeoutMs: 200,
      requestTimeoutMs: 200,
    });
    await eventually(() => {
      expect(hole.upgrades()).toBeGreaterThanOrEqual(2);
      expect(mute.requests()).toBeGreaterThanOrEqual(2);
    });
    expect(a.h.unreachable).toEqual(expect.arrayContaining(["n2", "n3"]));
    expect(a.h.gone).toEqual([]);
  });

  it("keeps the queue bounded when the peer stops reading, and drops and reports the excess", async () => {
    const hole = await silentStreamPeer();
    cleanups.push(() => hole.close());
    const a = await node("n1", {
      peers: { n2: hole.url },
      maxQueueBytes: 64 * 1024,
      streamIdleTimeoutMs: 60_000,
    });
    a.t.send([append("n1", "n2", 0)]);
    await eventually(() => expect(a.t.stats().n2!.stream!.state).toBe("open"));
    const big = new Uint8Array(32 * 1024);
    for (let i = 1; i <= 400; i++) a.t.send([append("n1", "n2", i, big)]);
    await eventually(() => expect(a.h.unreachable).toContain("n2"));
    const s = a.t.stats().n2!;
    expect(s.queuedBytes).toBe(0);
    expect(s.stream!.messagesDropped).toBeGreaterThan(0);
    expect(s.stream!.messagesSent + s.stream!.messagesDropped).toBe(401);
  });

  it("falls back to POSTs for a peer whose server does not route upgrades", async () => {
    const b = transport("n2");
    const h = recordingHandler();
    await b.start(h);
    const app = express();
    app.use(b.router);
    const server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(
      () =>
        new Promise((r) => {
          server.close(() => r());
          server.closeAllConnections();
        }),
    );
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const a = await node("n1", { peers: { n2: url } });
    // Opened when n1 started, refused with 404: n2 is sent to by POST from then on.
    await eventually(() => expect(a.t.stats().n2!.stream!.state).toBe("unsupported"));
    a.t.send([append("n1", "n2", 0)]);
    a.t.send([append("n1", "n2", 1), append("n1", "n2", 2)]);
    await eventually(() => expect(h.received.map((m) => m.index)).toEqual([0, 1, 2]));
    expect(a.t.stats().n2!.requests).toBeGreaterThan(0);
  });

  it("still sends snapshots by POST, in chunks, and reports them ok", async () => {
    const b = await node("n2");
    const a = await node("n1", { peers: { n2: b.url }, snapshotChunkBytes: 1024 });
    const data = new Uint8Array(10_000).map((_, i) => i % 251);
    a.t.send([snapshotMessage("n1", "n2", data)]);
    await eventually(() => expect(a.h.snapshots).toEqual([{ id: "n2", ok: true }]));
    expect(Buffer.compare(b.h.received[0]!.snapshot!.data, data)).toBe(0);
  });

  it("works over TLS with the peer's certificate authority given as TLS options", async () => {
    const { key, cert } = selfSignedCert();
    const b = await node("n2", {}, 0, { key, cert });
    const a = await node("n1", { peers: { n2: b.url }, tls: { ca: cert } });
    a.t.send([append("n1", "n2", 1)]);
    await eventually(() => expect(b.h.received).toHaveLength(1));
    expect(a.t.stats().n2!.stream!.state).toBe("open");
  });
});
