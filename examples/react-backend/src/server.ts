import { existsSync, mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CommandError, type RaftkitNode, startNode } from "@raftkit/sdk";
import express from "express";
import { BehaviorSubject, combineLatest, map, switchMap } from "rxjs";
import { counter } from "./machine.js";

const here = dirname(fileURLToPath(import.meta.url));
export const distDir = join(here, "../dist");

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Builds the React page with Vite (once; `force` rebuilds). */
export async function buildPage(force = false): Promise<void> {
  if (!force && existsSync(join(distDir, "index.html"))) return;
  const { build } = await import("vite");
  await build({ configFile: join(here, "../vite.config.ts") });
}

export interface Backend {
  url: string;
  /** The running nodes (a node stopped by failover() is replaced by its restart). */
  nodes: RaftkitNode<typeof counter>[];
  /** Where the nodes keep their data; removed by close(). */
  dataDir: string;
  /** Stops the leader gracefully, then starts it again on the same data (it rejoins as a follower). */
  failover(): Promise<{ stopped: string; leader: string | null }>;
  close(): Promise<void>;
}

/**
 * An express backend that hosts a 3-node raftkit cluster in its own process and serves the
 * page: `POST /api/add {by}` runs the replicated command, `POST /api/failover` stops the
 * leader and restarts it, `GET /api/events` streams the counter, leader, term, commit index
 * and members as server-sent events. Commands and events go through a node that is running,
 * so both keep working through a failover.
 */
export async function startBackend(o: { port?: number; host?: string } = {}): Promise<Backend> {
  await buildPage();
  const dir = mkdtempSync(join(tmpdir(), "raftkit-react-"));
  const ids = ["r1", "r2", "r3"];
  const peers: Record<string, string> = {};
  for (const id of ids) peers[id] = `http://127.0.0.1:${await freePort()}`;
  const start = (id: string) =>
    startNode({
      machine: counter,
      id,
      peers,
      dataDir: join(dir, id),
      secret: "react-example-secret",
      listen: { port: Number(new URL(peers[id]!).port) },
      raft: { tickMs: 50 },
    });
  const nodes = await Promise.all(ids.map(start));
  /** The node this backend talks to; never one that is stopping. */
  const serving = new BehaviorSubject(nodes[0]!);
  const running = () => nodes.filter((n) => !n.status().stopped);

  async function failover(): Promise<{ stopped: string; leader: string | null }> {
    const leader = running().find((n) => n.status().role === "leader");
    if (!leader) throw new Error("no leader right now; try again in a moment");
    if (serving.value === leader) serving.next(running().find((n) => n !== leader)!);
    await leader.stop(); // hands leadership over first
    const restarted = await start(leader.id);
    nodes[nodes.indexOf(leader)] = restarted;
    return { stopped: leader.id, leader: serving.value.status().leader };
  }

  const app = express();
  app.use(express.json());
  app.post("/api/add", async (req, res) => {
    const by = Number((req.body as { by?: unknown }).by);
    try {
      res.json({ value: await serving.value.commands.add(by) });
    } catch (e) {
      res.status(e instanceof CommandError ? 422 : 503).json({ error: (e as Error).message });
    }
  });
  app.post("/api/failover", async (_req, res) => {
    try {
      res.json(await failover());
    } catch (e) {
      res.status(503).json({ error: (e as Error).message });
    }
  });
  app.get("/api/events", (req, res) => {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    const live$ = serving.pipe(
      switchMap((node) =>
        combineLatest([node.state$, node.status$]).pipe(map(([state, status]) => ({ node, state, status }))),
      ),
    );
    const sub = live$.subscribe(({ node, state, status }) => {
      const live = {
        value: state.value,
        leader: status.leader,
        term: status.term,
        commit: status.commit,
        node: node.id,
        members: status.membership.voters,
      };
      res.write(`event: live\ndata: ${JSON.stringify(live)}\n\n`);
    });
    req.on("close", () => sub.unsubscribe());
  });
  app.use(express.static(distDir));

  const server: Server = app.listen(o.port ?? 0, o.host ?? "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://${o.host ?? "127.0.0.1"}:${port}`,
    nodes,
    dataDir: dir,
    failover,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await Promise.all(nodes.map((n) => n.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
