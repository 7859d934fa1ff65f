import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openFileStorage } from "@raftkit/store-fs";
import { afterEach, describe, expect, it } from "vitest";
import { IdentityMismatchError, InvalidOptionsError } from "../../src/index.js";
import { type StartNodeOptions, startNode } from "../../src/startNode.js";
import { testMachine } from "../e2e/testMachine.js";

const here = dirname(fileURLToPath(import.meta.url));
const dirs: string[] = [];
const servers: Server[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  for (const s of servers.splice(0)) s.close();
});
const newDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "raftkit-start-"));
  dirs.push(d);
  return d;
};

function options(
  over: Partial<StartNodeOptions<typeof testMachine>> = {},
): StartNodeOptions<typeof testMachine> {
  return {
    machine: testMachine,
    id: "n1",
    peers: { n1: "http://127.0.0.1:1" },
    dataDir: join(newDir(), "n1"),
    secret: "s3cret",
    listen: { port: 0 },
    ...over,
  };
}

/** The directory's lock is free again: a FileStorage can open it at once. */
async function lockIsFree(dataDir: string): Promise<boolean> {
  const s = await openFileStorage(dataDir);
  await s.close();
  return true;
}

describe("startNode refuses options that cannot work, before anything starts", () => {
  const cases: [string, Partial<StartNodeOptions<typeof testMachine>>, RegExp][] = [
    ["an empty secret", { secret: "" }, /secret: give the cluster's shared secret/],
    ["a missing secret", { secret: undefined as unknown as string }, /secret/],
    [
      "its own id missing from peers",
      { peers: { n2: "http://127.0.0.1:2" } },
      /peers\.n1: peers must include/,
    ],
    [
      "two ids with one address",
      { peers: { n1: "http://127.0.0.1:1", n2: "http://127.0.0.1:1/" } },
      /n2 and n1 have the same address/,
    ],
    [
      "a malformed URL",
      { peers: { n1: "127.0.0.1:7000" } },
      /peers\.n1: .* (is not a URL|must start with http)/,
    ],
    ["a URL of another scheme", { peers: { n1: "ftp://127.0.0.1:1" } }, /must start with http/],
    ["a port out of range", { listen: { port: 70_000 } }, /listen\.port: 70000 is not a TCP port/],
    ["an empty id", { id: "" }, /^startNode: id:/],
    ["neither listen nor app", { listen: undefined as unknown as { port: number } }, /listen: give `listen/],
    [
      "something other than a machine",
      { machine: {} as typeof testMachine },
      /machine: give the result of defineMachine/,
    ],
  ];
  for (const [what, over, message] of cases) {
    it(`refuses ${what}`, async () => {
      const o = options(over);
      const e = await startNode(o).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(InvalidOptionsError);
      expect((e as Error).message).toMatch(message);
    });
  }

  it("refuses a port in use, before opening the storage, and leaves the directory free", async () => {
    const taken = createServer();
    servers.push(taken);
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as { port: number }).port;
    const o = options({ listen: { port }, peers: { n1: `http://127.0.0.1:${port}` } });
    const e = await startNode(o).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(InvalidOptionsError);
    expect((e as Error).message).toMatch(/the port is in use/);
    expect(await lockIsFree(o.dataDir)).toBe(true);
  });
});

describe("a data directory's identity", () => {
  it("is recorded at first start; another node or cluster on it is refused naming both, and nothing leaks", async () => {
    const o = options();
    const node = await startNode(o);
    await node.stop();
    expect(JSON.parse(readFileSync(join(o.dataDir, "IDENTITY"), "utf8"))).toMatchObject({
      clusterId: "raftkit",
      nodeId: "n1",
    });

    const asN2 = await startNode({ ...o, id: "n2", peers: { n2: "http://127.0.0.1:1" } }).catch(
      (e: unknown) => e,
    );
    expect(asN2).toBeInstanceOf(IdentityMismatchError);
    expect((asN2 as Error).message).toMatch(
      /belongs to node n1 of cluster "raftkit", not to node n2 of cluster "raftkit"/,
    );

    const otherCluster = await startNode({ ...o, clusterId: "blue" }).catch((e: unknown) => e);
    expect(otherCluster).toBeInstanceOf(IdentityMismatchError);
    expect((otherCluster as IdentityMismatchError).recorded).toEqual({
      clusterId: "raftkit",
      nodeId: "n1",
      initialMembers: ["n1"],
    });
    expect((otherCluster as IdentityMismatchError).starting).toEqual({ clusterId: "blue", nodeId: "n1" });
    expect(await lockIsFree(o.dataDir)).toBe(true);

    // The right node starts again on it; its port was released by the refused starts.
    const again = await startNode(o);
    await again.stop();
  });
});

describe("peers after the first start", () => {
  it("a restart ignores edited peers, says so once the log is replayed, and keeps its members", async () => {
    const o = options();
    const first = await startNode(o);
    await first.stop();
    const warnings: string[] = [];
    const logger = {
      debug: () => {},
      info: () => {},
      warn: (_f: object, m: string) => warnings.push(m),
      error: () => {},
    };
    const again = await startNode({ ...o, peers: { ...o.peers, n9: "http://127.0.0.1:2" }, logger });
    try {
      await expect
        .poll(() => warnings.join("\n"))
        .toMatch(/peers \(n1, n9\) ignored.*members now n1; bootstrapped with n1/);
      expect(again.status().membership.voters).toEqual(["n1"]);
    } finally {
      await again.stop();
    }
  });
});

describe("the lost-data check at a fresh start", () => {
  it("proceeds within its bound when a peer accepts connections and closes them at once (no silent exit)", async () => {
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ["--conditions=@raftkit/source", "--import", "tsx", join(here, "acceptAndClose.ts")],
        { timeout: 30_000 },
        (err, stdout) => (err ? reject(new Error(`${err.message}\n${stdout}`)) : resolve(stdout)),
      );
    });
    const line = JSON.parse(out.trim().split("\n")[0] ?? "{}") as { ready?: boolean; ms?: number };
    expect(line.ready).toBe(true);
    expect(line.ms).toBeLessThan(5_000);
  });
});
