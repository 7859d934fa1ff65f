/**
 * The published shape, tried as a new user would: pack every package (which builds it),
 * install the tarballs with npm into a fresh project outside the workspace, type-check the
 * getting-started app of the docs against them (`tsc --strict`, `skipLibCheck: false`), and
 * run it with plain `node` (no tsx, no custom condition): 3 node processes and a client process.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), "../../../..");
const PACKAGES = ["core", "store-fs", "transport-http", "sdk", "cli"];
const SECRET = "published-shape-secret";
/** Generous: npm fetches express, immer, rxjs, superjson and their types from the registry. */
const DEADLINE_MS = 240_000;

const started = Date.now();
/** Prints how long each phase took, so a slow run says where its time went. */
const phase = (what: string): void =>
  console.log(`published shape: ${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`);

const tmp = mkdtempSync(join(tmpdir(), "raftkit-published-"));
const children: ChildProcess[] = [];

afterAll(async () => {
  await Promise.all(children.map(stop));
  rmSync(tmp, { recursive: true, force: true });
});

/** pnpm as the caller ran it (`pnpm test`), else through npx as the README does. */
function pnpm(args: string[]): [string, string[]] {
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm/.test(execPath)) return [process.execPath, [execPath, ...args]];
  return ["npx", ["-y", "pnpm@9", ...args]];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves with the first stdout line for which `match` holds; rejects if the process exits first. */
function lineFrom(p: ChildProcess, match: (line: string) => boolean, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    let stderr = "";
    p.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    p.stdout?.on("data", (c: Buffer) => {
      buffer += c.toString();
      for (const line of buffer.split("\n")) if (match(line)) resolve(line);
    });
    p.once("exit", (code) => reject(new Error(`${what} exited with ${code} first:\n${buffer}\n${stderr}`)));
  });
}

function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => p.kill("SIGKILL"), 10_000);
    p.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    p.kill("SIGTERM");
  });
}

it(
  "packs, installs with npm, type-checks and runs a 3-node cluster and a client with plain node",
  async () => {
    // 1. Pack in dependency order: each prepack builds its package (and checks its references).
    const tarballs = join(tmp, "tarballs");
    for (const name of PACKAGES) {
      const [cmd, args] = pnpm(["pack", "--pack-destination", tarballs]);
      await run(cmd, args, { cwd: join(root, "packages", name) });
    }
    phase("packed");
    const files = readdirSync(tarballs).sort();
    expect(files).toEqual([
      "raftkit-cli-0.1.0.tgz",
      "raftkit-core-0.1.0.tgz",
      "raftkit-sdk-0.1.0.tgz",
      "raftkit-store-fs-0.1.0.tgz",
      "raftkit-transport-http-0.1.0.tgz",
    ]);

    // 2. What a tarball's package.json says: versions for workspace ranges, no source condition.
    for (const f of files) {
      const { stdout } = await run("tar", ["-xzOf", join(tarballs, f), "package/package.json"]);
      expect(stdout, f).not.toContain("workspace:");
      expect(stdout, f).not.toContain("@raftkit/source");
      const listing = (await run("tar", ["-tzf", join(tarballs, f)])).stdout;
      for (const needed of ["dist/index.js", "dist/index.d.ts", "dist/index.js.map", "README.md", "LICENSE"])
        expect(listing, f).toContain(`package/${needed}`);
      expect(listing, f).not.toMatch(/package\/test\//);
    }

    // 3. A fresh project outside the workspace, the docs' getting-started app, installed with npm.
    const app = join(tmp, "app");
    mkdirSync(join(app, "src"), { recursive: true });
    cpSync(join(root, "docs/examples/getting-started"), join(app, "src"), { recursive: true });
    const dependencies = Object.fromEntries(
      files.map((f) => [
        `@raftkit/${f.replace(/^raftkit-/, "").replace(/-0\.1\.0\.tgz$/, "")}`,
        `file:../tarballs/${f}`,
      ]),
    );
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({ name: "published-shape-app", private: true, type: "module", dependencies }, null, 2),
    );
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          skipLibCheck: false,
          outDir: "dist",
          rootDir: "src",
          types: ["node"],
        },
        include: ["src"],
      }),
    );
    await run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: app });
    phase("installed with npm");

    // 4. tsc --strict with skipLibCheck: false (the workspace's compiler, so no second download).
    const tsc = join(root, "node_modules/typescript/bin/tsc");
    const compiled = await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: app }).catch(
      (e: { stdout: string }) => {
        throw new Error(`tsc failed against the published packages:\n${e.stdout}`);
      },
    );
    expect(compiled.stdout).toBe("");
    phase("type-checked");

    // 5. Plain node: three members, then a client process.
    const ports = [await freePort(), await freePort(), await freePort()];
    const ids = ["n1", "n2", "n3"];
    const peerList = ids.map((id, i) => `${id}=http://127.0.0.1:${ports[i]}`).join(",");
    const env = { ...process.env, RAFTKIT_SECRET: SECRET, NODE_OPTIONS: "" };
    const ready = ids.map((id) => {
      const p = spawn(process.execPath, ["dist/node.js", id, peerList, join(tmp, "data", id)], {
        cwd: app,
        env,
      });
      children.push(p);
      return lineFrom(p, (l) => l.includes('"ready"'), `node ${id}`);
    });
    const apis = (await Promise.all(ready)).map((l) => (JSON.parse(l) as { api: string }).api);

    const client = spawn(process.execPath, ["dist/client.js", ...apis], { cwd: app, env });
    children.push(client);
    const line = await lineFrom(client, (l) => l.startsWith("{"), "the client");
    const out = JSON.parse(line) as { after: number; value: number; stale: number; last: string | null };
    expect(out.after).toBe(5);
    expect(out.value).toBe(5); // linearizable: the acknowledged add is visible
    expect(Number.isNaN(Date.parse(out.last ?? ""))).toBe(false);
    const exitCode = await new Promise<number | null>((resolve) => {
      if (client.exitCode !== null) resolve(client.exitCode);
      else client.once("exit", (code) => resolve(code));
    });
    expect(exitCode).toBe(0);
    phase("ran the cluster and the client");

    // 6. The CLI as installed (issue #11): its bin runs from the app's node_modules.
    const help = await run("npx", ["raftkit", "--help"], { cwd: app, env });
    expect(help.stdout).toContain("raftkit start --machine FILE");
    phase("ran npx raftkit --help");
  },
  DEADLINE_MS,
);
