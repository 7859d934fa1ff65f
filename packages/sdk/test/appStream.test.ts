import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { encodeFrame, FRAME_CLOSE, FRAME_MESSAGES, frameHeader } from "@raftkit/transport-http";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiConnection } from "../src/apiConnection.js";
import {
  APP_STREAM_PATH,
  APP_STREAM_PROTOCOL,
  appStreamHandler,
  type StreamAnswer,
} from "../src/appStream.js";
import { createClient } from "../src/createClient.js";
import { type RaftkitNode, startNode } from "../src/startNode.js";
import { decodeBody, encodeBody } from "../src/wire.js";
import { counter } from "./counterMachine.js";

const SECRET = "app-stream-secret";
const dirs: string[] = [];
const nodes: RaftkitNode<typeof counter>[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const s = http.createServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

async function single(port: number, dataDir: string): Promise<RaftkitNode<typeof counter>> {
  const node = await startNode({
    machine: counter,
    id: "a1",
    peers: { a1: `http://127.0.0.1:${port}` },
    dataDir,
    secret: SECRET,
    listen: { port },
    unsafeNoFsync: true,
  });
  nodes.push(node);
  return node;
}

function upgrade(
  url: string,
  secret: string,
): Promise<{ socket: Socket } | { status: number; json: { error: { code: string } } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/stream`, {
      headers: { authorization: `Bearer ${secret}`, connection: "Upgrade", upgrade: APP_STREAM_PROTOCOL },
      agent: false,
    });
    req.on("upgrade", (_res, socket: Socket) => resolve({ socket }));
    req.on("response", (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on("error", reject);
    req.end();
  });
}

function collect(socket: Socket): { bytes: () => Buffer; closed: Promise<unknown> } {
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  return { bytes: () => Buffer.concat(chunks), closed: once(socket, "close") };
}

describe("the app stream", () => {
  it("answers each call of a frame by id, and createClient's calls work over it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "raftkit-appstream-"));
    dirs.push(dir);
    const node = await single(await freePort(), dir);
    const client = createClient<typeof counter>({ endpoints: [node.apiUrl], secret: SECRET });
    expect(await client.commands.add(2)).toBe(2);
    expect(await Promise.all([client.commands.add(1), client.query.value()])).toHaveLength(2);

    const up = await upgrade(node.apiUrl, SECRET);
    if (!("socket" in up)) throw new Error(`expected an upgrade, got ${up.status}`);
    const seen = collect(up.socket);
    const calls = [
      { id: 7, call: { kind: "command", name: "add", body: { arg: 10 } } },
      { id: 8, call: { kind: "query", name: "nope", body: { args: [] } } },
    ];
    up.socket.write(encodeFrame(FRAME_MESSAGES, Buffer.from(encodeBody(calls))));
    const answers: StreamAnswer[] = [];
    while (answers.length < 2) {
      await new Promise((r) => setTimeout(r, 10));
      const b = seen.bytes();
      answers.length = 0;
      for (let off = 0; off + 5 <= b.byteLength; ) {
        const len = b.readUInt32BE(off);
        if (off + 4 + len > b.byteLength) break;
        answers.push(...decodeBody<StreamAnswer[]>(b.subarray(off + 5, off + 4 + len).toString("utf8")));
        off += 4 + len;
      }
    }
    const byId = new Map(answers.map((a) => [a.id, a.outcome]));
    // Answers on the stream carry the read token too: the command's log index, after the client's.
    expect(byId.get(7)).toEqual({ ok: true, result: 13, index: expect.any(Number) });
    expect((byId.get(7) as { index: number }).index).toBeGreaterThan(client.token);
    expect(byId.get(8)).toMatchObject({ ok: false, status: 404, error: { code: "UNKNOWN_QUERY" } });
    up.socket.destroy();
  });

  it("carries createClient's session reads too, with their read tokens", async () => {
    const dir = mkdtempSync(join(tmpdir(), "raftkit-appstream-"));
    dirs.push(dir);
    const node = await single(await freePort(), dir);
    const requests = vi.spyOn(ApiConnection.prototype, "request");
    try {
      const client = createClient<typeof counter>({ endpoints: [node.apiUrl], secret: SECRET });
      expect(await client.commands.add(4)).toBe(4);
      const read = await client.withToken.query.value(undefined, { consistency: "session" });
      expect(read.result).toBe(4);
      expect(read.token).toBeGreaterThanOrEqual(client.token);
      // Nothing went as a request of its own: the calls took the stream.
      expect(requests.mock.calls.map((c) => c[1])).not.toContain("queries/value");
    } finally {
      requests.mockRestore();
    }
  });

  it("refuses a wrong secret with 401 and JSON, and closes a stream whose frame is over 1 MiB", async () => {
    const dir = mkdtempSync(join(tmpdir(), "raftkit-appstream-"));
    dirs.push(dir);
    const node = await single(await freePort(), dir);
    expect(await upgrade(node.apiUrl, "wrong")).toMatchObject({
      status: 401,
      json: { error: { code: "UNAUTHORIZED" } },
    });
    const up = await upgrade(node.apiUrl, SECRET);
    if (!("socket" in up)) throw new Error("expected an upgrade");
    const seen = collect(up.socket);
    up.socket.write(frameHeader(FRAME_MESSAGES, 2 * 1024 * 1024));
    await seen.closed;
    expect(seen.bytes()[4]).toBe(FRAME_CLOSE);
    expect(seen.bytes().subarray(5).toString("utf8")).toMatch(/BODY_TOO_LARGE/);
  });

  it("a client that resets the connection while it is refused does not crash the node (an upgraded socket has no error listener of node's)", () => {
    const handle = appStreamHandler({ id: "a1" } as Parameters<typeof appStreamHandler>[0], "/api", SECRET);
    for (const headers of [
      { upgrade: APP_STREAM_PROTOCOL },
      { upgrade: "websocket", authorization: `Bearer ${SECRET}` },
    ]) {
      const socket = new PassThrough();
      const req = { url: `/api${APP_STREAM_PATH}`, headers } as unknown as http.IncomingMessage;
      expect(handle(req, socket, Buffer.alloc(0))).toBe(true);
      expect(() =>
        socket.emit("error", Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })),
      ).not.toThrow();
      expect(socket.destroyed).toBe(true);
    }
  });

  it("carries createClient through a node restart: the broken stream's calls are retried on a new one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "raftkit-appstream-"));
    dirs.push(dir);
    const port = await freePort();
    const first = await single(port, dir);
    const client = createClient<typeof counter>({ endpoints: [first.apiUrl], secret: SECRET });
    expect(await client.commands.add(1)).toBe(1);
    await first.stop();
    nodes.splice(nodes.indexOf(first), 1);
    const pending = client.commands.add(2);
    await new Promise((r) => setTimeout(r, 100));
    await single(port, dir);
    expect(await pending).toBe(3);
    expect(await client.query.value()).toBe(3);
  });
});
