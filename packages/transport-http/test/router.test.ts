import http from "node:http";
import type { Message } from "@raftkit/core";
import { message } from "@raftkit/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeMessages } from "../src/codec.js";
import { type PeerServer, startPeerServer } from "../src/peerServer.js";
import { createPeerRouter } from "../src/router.js";
import { encodeSnapshotHeader } from "../src/snapshotFrame.js";
import { append, authHeaders, CLUSTER, eventually, rawPost, SECRET, snapshotMessage } from "./helpers.js";

const MAX_BODY = 64 * 1024;
const MAX_SNAPSHOT = 256 * 1024;

let server: PeerServer;
const received: Message[][] = [];

beforeAll(async () => {
  const router = createPeerRouter({
    nodeId: "n2",
    clusterId: CLUSTER,
    secret: SECRET,
    maxBodyBytes: MAX_BODY,
    maxSnapshotBytes: MAX_SNAPSHOT,
    handler: { receive: (ms) => void received.push(ms) },
  });
  server = await startPeerServer({ router, host: "127.0.0.1", port: 0 });
});

afterAll(() => server.close());

const messagesUrl = () => `${server.url}/raft/messages`;
const snapshotUrl = () => `${server.url}/raft/snapshot`;

function snapshotBody(m: Message): Buffer {
  return Buffer.concat([encodeSnapshotHeader(m), m.snapshot!.data]);
}

/** Sends, expects a refusal with `status` and `code`, and checks the handler saw nothing. */
async function expectRefused(
  send: Promise<Awaited<ReturnType<typeof rawPost>>>,
  status: number,
  code: string,
  text: RegExp,
): Promise<void> {
  const before = received.length;
  const res = await send;
  expect(res.status).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  expect(res.json?.error?.code).toBe(code);
  expect(res.json?.error?.message).toMatch(text);
  expect(received.length).toBe(before);
}

describe("peer router: accepted requests", () => {
  it("hands a batch to the handler in order and answers 204", async () => {
    const ms = [append("n1", "n2", 1), message({ type: "heartbeat", from: "n1", to: "n2", term: 3 })];
    const res = await rawPost(messagesUrl(), authHeaders(), encodeMessages(ms));
    expect(res.status).toBe(204);
    expect(received.at(-1)).toEqual(ms);
  });

  it("hands a whole snapshot message to the handler", async () => {
    const data = new Uint8Array(200_000).map((_, i) => i % 251);
    const m = snapshotMessage("n1", "n2", data);
    const res = await rawPost(snapshotUrl(), authHeaders(), snapshotBody(m));
    expect(res.status).toBe(204);
    const [got] = received.at(-1)!;
    // The data compared as a buffer: element-wise deep equality over 200 kB is slow.
    expect(Buffer.compare(got!.snapshot!.data, data)).toBe(0);
    expect({ ...got, snapshot: { ...got!.snapshot, data: null } }).toEqual({
      ...m,
      snapshot: { ...m.snapshot, data: null },
    });
  });
});

describe("peer router: refused requests never reach the handler", () => {
  const body = encodeMessages([append("n1", "n2", 1)]);

  it("401 without a secret", async () => {
    await expectRefused(
      rawPost(messagesUrl(), authHeaders({ authorization: undefined }), body),
      401,
      "UNAUTHORIZED",
      /node n2 refused a request from node "n1" \(127\.0\.0\.1\): it carries no cluster secret/,
    );
  });

  it("401 with a wrong secret, or one of another length", async () => {
    for (const secret of ["s3cret-for-tesst", "x", `${SECRET}${SECRET}`]) {
      await expectRefused(
        rawPost(messagesUrl(), authHeaders({ authorization: `Bearer ${secret}` }), body),
        401,
        "UNAUTHORIZED",
        /carries a wrong cluster secret.*same secret/,
      );
    }
    await expectRefused(
      rawPost(snapshotUrl(), authHeaders({ authorization: "Basic abc" }), body),
      401,
      "UNAUTHORIZED",
      /wrong cluster secret/,
    );
  });

  it("403 for another cluster, or none", async () => {
    await expectRefused(
      rawPost(messagesUrl(), authHeaders({ "x-raftkit-cluster-id": "other" }), body),
      403,
      "WRONG_CLUSTER",
      /node n2 belongs to cluster "test-cluster" but the request from node "n1" .* is for cluster "other"/,
    );
    await expectRefused(
      rawPost(messagesUrl(), authHeaders({ "x-raftkit-cluster-id": undefined }), body),
      403,
      "WRONG_CLUSTER",
      /for no cluster \(header missing\)/,
    );
  });

  it("413 for a batch over maxBodyBytes, declared up front or streamed", async () => {
    const big = encodeMessages([append("n1", "n2", 1, new Uint8Array(MAX_BODY + 1))]);
    const res = rawPost(messagesUrl(), authHeaders(), big);
    await expectRefused(
      res,
      413,
      "BODY_TOO_LARGE",
      /node n2 refused a message batch of \d+ bytes .* limit is 65536 bytes/,
    );
    expect((await res).headers.connection).toBe("close");
    const huge = new Uint8Array(16 * 1024 * 1024);
    await expectRefused(
      rawPost(messagesUrl(), authHeaders(), huge, { chunked: true }),
      413,
      "BODY_TOO_LARGE",
      /limit is 65536/,
    );
  });

  it("413 for a snapshot over maxSnapshotBytes, 411 without a length", async () => {
    const m = snapshotMessage("n1", "n2", new Uint8Array(MAX_SNAPSHOT + 1));
    await expectRefused(
      rawPost(snapshotUrl(), authHeaders(), snapshotBody(m)),
      413,
      "BODY_TOO_LARGE",
      /snapshot of 262145 bytes/,
    );
    const huge = snapshotMessage("n1", "n2", new Uint8Array(MAX_SNAPSHOT + MAX_BODY + 1));
    await expectRefused(
      rawPost(snapshotUrl(), authHeaders(), snapshotBody(huge)),
      413,
      "BODY_TOO_LARGE",
      /limit is/,
    );
    const ok = snapshotMessage("n1", "n2", new Uint8Array(10));
    await expectRefused(
      rawPost(snapshotUrl(), authHeaders(), snapshotBody(ok), { chunked: true }),
      411,
      "LENGTH_REQUIRED",
      /Content-Length/,
    );
  });

  it("400 for a malformed body, naming the byte and field", async () => {
    await expectRefused(
      rawPost(messagesUrl(), authHeaders(), Buffer.from('{"hello":"world"}')),
      400,
      "MALFORMED_MESSAGE",
      /from node "n1" \(127\.0\.0\.1\): malformed raft message batch at byte 0 \(batch\.magic\)/,
    );
    const cut = body.subarray(0, body.byteLength - 1);
    await expectRefused(
      rawPost(messagesUrl(), authHeaders(), cut),
      400,
      "MALFORMED_MESSAGE",
      /messages\[0\]\.entries\[0\]\.data/,
    );
    await expectRefused(rawPost(snapshotUrl(), authHeaders(), body), 400, "MALFORMED_MESSAGE", /header/);
  });

  it("400 for a message addressed to another node", async () => {
    const ms = [append("n1", "n2", 1), append("n1", "n3", 2)];
    await expectRefused(
      rawPost(messagesUrl(), authHeaders(), encodeMessages(ms)),
      400,
      "WRONG_RECIPIENT",
      /messages\[1\] \(append from n1\) is addressed to node "n3" but reached node "n2"; fix the address of "n3"/,
    );
    const snap = snapshotMessage("n1", "n9", new Uint8Array(10));
    await expectRefused(
      rawPost(snapshotUrl(), authHeaders(), snapshotBody(snap)),
      400,
      "WRONG_RECIPIENT",
      /"n9"/,
    );
  });

  it("400 for a local message type, which never crosses the network", async () => {
    const ms = [message({ type: "hup", from: "n1", to: "n2" })];
    await expectRefused(
      rawPost(messagesUrl(), authHeaders(), encodeMessages(ms)),
      400,
      "MALFORMED_MESSAGE",
      /local "hup" message/,
    );
  });
});

describe("peer router: a sender that goes away", () => {
  it("drops a half-sent body without calling the handler, and keeps serving", async () => {
    const before = received.length;
    const body = encodeMessages([append("n1", "n2", 1, new Uint8Array(1000))]);
    let connectionClosed = false;
    const req = http.request(messagesUrl(), {
      method: "POST",
      agent: false,
      headers: { ...authHeaders(), "content-length": String(body.byteLength) },
    });
    req.on("error", () => {});
    req.on("socket", (socket) => socket.on("close", () => (connectionClosed = true)));
    req.write(body.subarray(0, 100));
    await eventually(() => expect(req.socket?.bytesWritten).toBeGreaterThan(100));
    req.destroy();
    await eventually(() => expect(connectionClosed).toBe(true));
    const res = await rawPost(messagesUrl(), authHeaders(), body);
    expect(res.status).toBe(204);
    expect(received.length).toBe(before + 1);
  });
});
