import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfState, Logger } from "@raftkit/core";
import { afterEach, describe, expect, it } from "vitest";
import { ClusterExistsError } from "../../src/index.js";
import { writeIdentity } from "../../src/start/identity.js";
import { planStart, warnIfPeersIgnored } from "../../src/start/planStart.js";

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A peer that answers GET /raftkit/members with `membership` and no published members. */
async function peerAnswering(membership: ConfState): Promise<string> {
  const server = createServer((req, res) => {
    if (req.url !== "/raftkit/members") return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ membership, published: {} }));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const conf = (voters: string[]): ConfState => ({
  voters,
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
});

/** A logger that keeps its warnings. */
function recordingLogger(): Logger & { warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return {
    warnings,
    infos,
    debug: () => {},
    info: (m) => infos.push(m),
    warn: (m) => warnings.push(m),
    error: () => {},
  };
}

function plan(
  dataDir: string,
  peers: Record<string, string>,
  over: { join?: boolean; newCluster?: boolean } = {},
) {
  const logger = recordingLogger();
  const result = planStart({
    id: "n1",
    clusterId: "raftkit",
    peers,
    dataDir,
    fresh: true,
    join: over.join ?? false,
    newCluster: over.newCluster ?? false,
    apiPath: "/raftkit",
    apiSecret: null,
    logger,
  });
  return { result, logger };
}

const newDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "raftkit-plan-"));
  dirs.push(d);
  return d;
};
const identity = (dir: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(dir, "IDENTITY"), "utf8")) as Record<string, unknown>;

describe("planStart: how a node with an empty data directory starts", () => {
  it("records the voters it bootstraps before bootstrapping, when no cluster answers", async () => {
    const dir = newDir();
    const down = "http://127.0.0.1:1";
    const p = await plan(dir, { n1: down, n2: down, n3: down }).result;
    expect(p).toMatchObject({ bootstrap: true, initialVoters: ["n1", "n2", "n3"], recorded: null });
    expect(identity(dir)).toMatchObject({ nodeId: "n1", initialMembers: ["n1", "n2", "n3"] });
  });

  it("after a first start whose log was lost, bootstraps the recorded voters, warning that peers is ignored", async () => {
    const dir = newDir();
    await writeIdentity(dir, { clusterId: "raftkit", nodeId: "n1", initialMembers: ["n1", "n2", "n3"] });
    const down = "http://127.0.0.1:1";
    const { result, logger } = plan(dir, { n1: down, n3: down, n4: down });
    expect(await result).toMatchObject({ bootstrap: true, initialVoters: ["n1", "n2", "n3"] });
    expect(logger.warnings.join("\n")).toMatch(
      /peers \(n1, n3, n4\) ignored: this node chose to bootstrap n1, n2, n3 at its first start/,
    );
  });

  it("joins a cluster that lists it instead of bootstrapping its (edited) peers", async () => {
    const dir = newDir();
    const n3 = await peerAnswering(conf(["n1", "n3", "n4"]));
    const { result, logger } = plan(dir, { n1: "http://127.0.0.1:1", n3, n4: "http://127.0.0.1:1" });
    expect(await result).toMatchObject({ bootstrap: false });
    expect(logger.infos.join("\n")).toMatch(
      /n3 is a member of a cluster that lists n1.*takes the log from its leader/,
    );
    expect(identity(dir)).toMatchObject({ joined: true });
    expect(identity(dir).initialMembers).toBeUndefined();
    // Its log is lost again before the leader sent any, and now no peer answers: it still joins.
    const again = plan(dir, { n1: "http://127.0.0.1:1", n3: "http://127.0.0.1:1" });
    expect(await again.result).toMatchObject({ bootstrap: false });
  });

  it("refuses to bootstrap beside a cluster that does not list it, recording nothing; newCluster overrides", async () => {
    const dir = newDir();
    const n2 = await peerAnswering(conf(["n2", "n5", "n6"]));
    const peers = { n1: "http://127.0.0.1:1", n2 };
    await expect(plan(dir, peers).result).rejects.toBeInstanceOf(ClusterExistsError);
    expect(() => identity(dir)).toThrow(/ENOENT/);
    expect(await plan(dir, peers, { newCluster: true }).result).toMatchObject({
      bootstrap: true,
      initialVoters: ["n1", "n2"],
    });
  });
});

describe("warnIfPeersIgnored (a restart)", () => {
  const warn = (peers: string[], members: string[], initialMembers?: string[]): string[] => {
    const logger = recordingLogger();
    warnIfPeersIgnored({
      id: "n1",
      peers: Object.fromEntries(peers.map((p) => [p, `http://${p}`])),
      recorded: { clusterId: "raftkit", nodeId: "n1", ...(initialMembers && { initialMembers }) },
      members,
      logger,
    });
    return logger.warnings;
  };

  it("is quiet when peers names the first members or the current ones", () => {
    expect(warn(["n1", "n2", "n3"], ["n1", "n3", "n4"], ["n1", "n2", "n3"])).toEqual([]);
    expect(warn(["n1", "n3", "n4"], ["n1", "n3", "n4"], ["n1", "n2", "n3"])).toEqual([]);
  });

  it("says which peers are ignored and what the membership is when peers names neither", () => {
    const [w] = warn(["n1", "n5"], ["n1", "n3", "n4"], ["n1", "n2", "n3"]);
    expect(w).toMatch(/peers \(n1, n5\) ignored.*members now n1, n3, n4; bootstrapped with n1, n2, n3/);
  });
});
