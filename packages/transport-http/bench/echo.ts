/**
 * `pnpm bench echo`: the cost of one round trip on each candidate path between two processes on
 * loopback, with a 128-byte payload echoed back: an express POST route, a plain node:http
 * server, frames over one HTTP/1.1 connection upgraded to a stream, and frames over a raw `net`
 * socket. C closed-loop workers each keep one request in flight; the HTTP paths get a keep-alive
 * agent with C sockets, the stream paths pipeline every request over one connection (tagged with
 * an id). Env: BENCH_SECONDS per phase (default 2), BENCH_ROUNDS (default 2, interleaved).
 */
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import { fileURLToPath } from "node:url";
import express from "express";
import { encodeFrame, FRAME_MESSAGES, FrameDecoder } from "../src/frames.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PAYLOAD = Buffer.alloc(128, 7);

type Ports = { express: number; http: number; upgrade: number; net: number };

function echoFrames(socket: net.Socket): void {
  socket.setNoDelay(true);
  const decoder = new FrameDecoder(1 << 20);
  socket.on("data", (chunk: Buffer) => {
    socket.cork();
    decoder.push(chunk, (kind, payload) => socket.write(encodeFrame(kind, payload)));
    socket.uncork();
  });
  socket.on("error", () => socket.destroy());
}

async function listen(server: net.Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as net.AddressInfo).port;
}

async function serve(): Promise<void> {
  const app = express();
  app.post("/echo", express.raw({ type: () => true }), (req, res) => {
    res.type("application/octet-stream").send(req.body as Buffer);
  });
  const plain = http.createServer({ noDelay: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => res.end(Buffer.concat(chunks)));
  });
  const upgrade = http.createServer({ noDelay: true }, (_req, res) => res.writeHead(426).end());
  upgrade.on("upgrade", (_req, socket: net.Socket, head: Buffer) => {
    socket.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
    echoFrames(socket);
    if (head.byteLength > 0) socket.unshift(head);
  });
  const ports: Ports = {
    express: await listen(http.createServer({ noDelay: true }, app)),
    http: await listen(plain),
    upgrade: await listen(upgrade),
    net: await listen(net.createServer({ noDelay: true }, echoFrames)),
  };
  process.send!(ports);
}

type Call = () => Promise<void>;

function httpCaller(port: number, path: string, concurrency: number): Call {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  return () =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          path,
          method: "POST",
          agent,
          headers: { "content-type": "application/octet-stream", "content-length": PAYLOAD.byteLength },
        },
        (res) => {
          res.on("data", () => {});
          res.on("end", resolve);
        },
      );
      req.on("socket", (s) => s.setNoDelay(true));
      req.on("error", reject);
      req.end(PAYLOAD);
    });
}

/** One connection; each call sends a frame whose first 4 bytes are its id and waits for the echo. */
function frameCaller(socket: net.Socket): Call {
  socket.setNoDelay(true);
  const waiting = new Map<number, () => void>();
  const decoder = new FrameDecoder(1 << 20);
  socket.on("data", (chunk: Buffer) =>
    decoder.push(chunk, (_kind, payload) => {
      const id = payload.readUInt32BE(0);
      waiting.get(id)?.();
      waiting.delete(id);
    }),
  );
  let next = 0;
  return () =>
    new Promise((resolve) => {
      const id = next++ >>> 0;
      const body = Buffer.from(PAYLOAD);
      body.writeUInt32BE(id, 0);
      waiting.set(id, resolve);
      socket.write(encodeFrame(FRAME_MESSAGES, body));
    });
}

async function connectNet(port: number): Promise<net.Socket> {
  const s = net.connect(port, "127.0.0.1");
  await once(s, "connect");
  return s;
}

function connectUpgrade(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port,
      path: "/stream",
      headers: { connection: "Upgrade", upgrade: "echo" },
    });
    req.on("upgrade", (_res, socket: net.Socket) => resolve(socket));
    req.on("error", reject);
    req.end();
  });
}

async function phase(call: Call, concurrency: number): Promise<{ ops: number; p50: number; p99: number }> {
  const lat: number[] = [];
  let stop = false;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const t = performance.now();
      await call();
      lat.push(performance.now() - t);
    }
  };
  const warm = Array.from({ length: concurrency }, worker);
  await new Promise((r) => setTimeout(r, 300));
  lat.length = 0;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const n = lat.length;
  const elapsed = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(warm);
  const s = lat.slice(0, n).sort((a, b) => a - b);
  return { ops: n / elapsed, p50: s[Math.floor(n * 0.5)] ?? 0, p99: s[Math.floor(n * 0.99)] ?? 0 };
}

async function main(): Promise<void> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ["serve"], {
    execArgv: process.execArgv,
    stdio: "inherit",
  });
  const [ports] = (await once(child, "message")) as [Ports];
  const rows = new Map<string, { ops: number[]; p50: number[]; p99: number[] }>();
  const candidates: [string, (c: number) => Promise<Call>][] = [
    ["express POST", async (c) => httpCaller(ports.express, "/echo", c)],
    ["node:http POST", async (c) => httpCaller(ports.http, "/echo", c)],
    ["upgraded stream", async () => frameCaller(await connectUpgrade(ports.upgrade))],
    ["raw net frames", async () => frameCaller(await connectNet(ports.net))],
  ];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of [1, 64]) {
        for (const [name, make] of candidates) {
          const r = await phase(await make(c), c);
          const key = `${name} | ${c}`;
          const row = rows.get(key) ?? { ops: [], p50: [], p99: [] };
          row.ops.push(r.ops);
          row.p50.push(r.p50);
          row.p99.push(r.p99);
          rows.set(key, row);
        }
      }
    }
  } finally {
    child.kill("SIGKILL");
  }
  const median = (a: number[]): number => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  console.log(
    `bench echo: 2 processes on 127.0.0.1, 128-byte payload, ${SECONDS}s per phase, median of ${ROUNDS} interleaved rounds, ${process.version}`,
  );
  console.log("| path | C | round trips/s | p50 µs | p99 µs |\n|---|---:|---:|---:|---:|");
  for (const [key, r] of rows) {
    console.log(
      `| ${key} | ${Math.round(median(r.ops)).toLocaleString("en-US")} | ${Math.round(median(r.p50) * 1000)} | ${Math.round(median(r.p99) * 1000)} |`,
    );
  }
  process.exit(0);
}

if (process.argv[2] === "serve") await serve();
else await main();
