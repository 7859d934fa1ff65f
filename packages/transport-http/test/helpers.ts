import { once } from "node:events";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { type Message, message, type NodeId, type TransportHandler } from "@raftkit/core";
import { vi } from "vitest";

export const CLUSTER = "test-cluster";
export const SECRET = "s3cret-for-tests";

/** Waits until `check` stops throwing, for up to 10 s. */
export function eventually<T>(check: () => T): Promise<T> {
  return vi.waitFor(check, { timeout: 10_000, interval: 5 });
}

/** A TransportHandler that records everything it is told. */
export function recordingHandler(): TransportHandler & {
  received: Message[];
  unreachable: NodeId[];
  snapshots: { id: NodeId; ok: boolean }[];
  gone: NodeId[];
  reachable: NodeId[];
} {
  const h = {
    received: [] as Message[],
    unreachable: [] as NodeId[],
    snapshots: [] as { id: NodeId; ok: boolean }[],
    gone: [] as NodeId[],
    reachable: [] as NodeId[],
    receive: (ms: Message[]) => void h.received.push(...ms),
    reportUnreachable: (id: NodeId) => void h.unreachable.push(id),
    reportSnapshot: (id: NodeId, ok: boolean) => void h.snapshots.push({ id, ok }),
    reportGone: (id: NodeId) => void h.gone.push(id),
    reportReachable: (id: NodeId) => void h.reachable.push(id),
  };
  return h;
}

export function append(from: NodeId, to: NodeId, index: number, data = new Uint8Array([1, 2, 3])): Message {
  return message({
    type: "append",
    from,
    to,
    term: 3,
    logTerm: 3,
    index,
    commit: index,
    entries: [{ term: 3, index: index + 1, type: "normal", data }],
  });
}

export function snapshotMessage(from: NodeId, to: NodeId, data: Uint8Array): Message {
  return message({
    type: "snapshot",
    from,
    to,
    term: 5,
    snapshot: {
      meta: {
        index: 1000,
        term: 4,
        confState: {
          voters: ["n1", "n2", "n3"],
          learners: [],
          votersOutgoing: [],
          learnersNext: [],
          autoLeave: false,
        },
      },
      data,
    },
  });
}

/** A URL where nothing listens: a port that was free a moment ago. */
export async function deadUrl(): Promise<string> {
  const s = http.createServer();
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

/** A server that accepts requests and never answers them, until closed. */
export async function blackHole(): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const s = http.createServer(() => {
    requests++;
  });
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  const { port } = s.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((r) => {
        s.close(() => r());
        s.closeAllConnections();
      }),
  };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: { error?: { code: string; message: string } } | null;
}

/**
 * POSTs raw bytes the way a peer (or an attacker) would; `chunked` leaves out Content-Length.
 * Resolves with the answer even when the server closes before the body is fully written.
 */
export function rawPost(
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  opts: { chunked?: boolean; ca?: string | Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const all = opts.chunked ? headers : { ...headers, "content-length": String(body.byteLength) };
    const req = (u.protocol === "https:" ? https : http).request(u, {
      method: "POST",
      headers: all,
      agent: false,
      ...(opts.ca ? { ca: opts.ca } : {}),
    });
    let answered = false;
    req.on("response", (res) => {
      answered = true;
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (s: string) => (text += s));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text ? JSON.parse(text) : null }),
      );
    });
    req.on("error", (e) => {
      if (!answered) reject(e);
    });
    if (opts.chunked) {
      // One chunk at a time, stopping once the peer answers: a refusal (413) closes the
      // connection, and writing on into it would race the answer with EPIPE.
      const writeFrom = (off: number): void => {
        if (answered || req.destroyed) return;
        if (off >= body.byteLength) {
          req.end();
          return;
        }
        if (req.write(body.subarray(off, off + 64 * 1024))) writeFrom(off + 64 * 1024);
        else req.once("drain", () => writeFrom(off + 64 * 1024));
      };
      writeFrom(0);
    } else {
      req.end(body);
    }
  });
}

export function authHeaders(over: Record<string, string | undefined> = {}): Record<string, string> {
  const h: Record<string, string | undefined> = {
    authorization: `Bearer ${SECRET}`,
    "x-raftkit-cluster-id": CLUSTER,
    "x-raftkit-from": "n1",
    "content-type": "application/octet-stream",
    ...over,
  };
  return Object.fromEntries(Object.entries(h).filter((e): e is [string, string] => e[1] !== undefined));
}
