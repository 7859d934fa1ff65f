#!/usr/bin/env node
/**
 * Measures restarts of members run with the compiled `raftkit start` (build first: `npx tsc -b packages/cli`):
 *  - serve: from spawning a restarted member to its first answer on /raftkit/status;
 *  - resume: after two of three members are killed (SIGKILL) and restarted, from the restart to
 *    the first acknowledged write.
 * Usage: node scripts/restart-bench.mjs [runs=10]. Prints median and max of each.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const BIN = join(root, "packages/cli/dist/bin.js");
const MACHINE = join(root, "packages/cli/test/fixtures/counter.mjs");
const runs = Number(process.argv[2] ?? 10);
const base = mkdtempSync(join(tmpdir(), "raftkit-bench-"));
const secretFile = join(base, "secret");
writeFileSync(secretFile, "bench\n");

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

function call(url, method = "GET", body) {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method,
        headers: { authorization: "Bearer bench", "content-type": "application/json" },
        agent: false,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      },
    );
    req.setTimeout(2000, () => req.destroy());
    req.on("error", () => resolve(0));
    req.end(body);
  });
}

const ids = ["n1", "n2", "n3"];
const peers = {};
for (const id of ids) peers[id] = `http://127.0.0.1:${await freePort()}`;
const peerList = ids.map((id) => `${id}=${peers[id]}`).join(",");
const procs = {};
const start = (id) => {
  procs[id] = spawn(
    process.execPath,
    [
      BIN,
      "start",
      "--machine",
      MACHINE,
      "--id",
      id,
      "--data-dir",
      join(base, id),
      "--peers",
      peerList,
      "--listen",
      new URL(peers[id]).host,
      "--secret-file",
      secretFile,
    ],
    { stdio: "ignore" },
  );
};
const kill = (id) =>
  new Promise((r) => {
    procs[id].once("exit", r);
    procs[id].kill("SIGKILL");
  });
const until = async (cond) => {
  for (;;) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
};
const write = (id) => call(`${peers[id]}/raftkit/commands/add`, "POST", JSON.stringify({ json: { arg: 1 } }));

for (const id of ids) start(id);
await until(async () => (await write("n1")) === 200);

const serve = [];
const resume = [];
for (let i = 0; i < runs; i++) {
  const id = ids[i % 3];
  await kill(id);
  const t0 = performance.now();
  start(id);
  await until(async () => (await call(`${peers[id]}/raftkit/status`)) === 200);
  serve.push(performance.now() - t0);
  await until(async () => (await write(id)) === 200);

  const [a, b] = [ids[i % 3], ids[(i + 1) % 3]];
  await Promise.all([kill(a), kill(b)]);
  const t1 = performance.now();
  start(a);
  start(b);
  await until(async () => (await write(ids[(i + 2) % 3])) === 200);
  resume.push(performance.now() - t1);
}
const stat = (xs) => {
  const s = [...xs].sort((p, q) => p - q);
  return `median ${s[Math.floor(s.length / 2)].toFixed(0)} ms, max ${s[s.length - 1].toFixed(0)} ms (${s.length} runs)`;
};
console.log(`restarted member serves /raftkit/status: ${stat(serve)}`);
console.log(`writes resume after 2 of 3 restarted:    ${stat(resume)}`);
await Promise.all(ids.map(kill));
rmSync(base, { recursive: true, force: true });
