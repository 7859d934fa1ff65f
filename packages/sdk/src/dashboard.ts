import type { NodeStatus, RaftNode } from "@raftkit/core";
import express, { type Router } from "express";
import { bearerToken, secretMatches } from "./auth.js";
import { dashboardPage } from "./dashboardPage.js";
import type { NodeMetrics } from "./metrics.js";

/** One member as the dashboard's cluster view shows it. */
export interface DashboardMember {
  id: string;
  url: string;
  /** Its own status, or null when it did not answer. */
  status: NodeStatus | null;
  error: string | null;
}

/** Options of {@link createDashboardRouter}. */
export interface DashboardOptions {
  /** The app API's secret: required on the data route (the page asks for it). Null: none. */
  secret: string | null;
  /** Where the app API is mounted on every member, e.g. "/raftkit". */
  apiPath: string;
  metrics: NodeMetrics | null;
  /** How long to wait for each member's status, in ms. Default 1,000. */
  memberTimeoutMs?: number;
}

/**
 * The live dashboard: `GET /dashboard` serves one self-contained page (no external resource,
 * charts drawn on canvas) that holds no data itself; the page asks for the API secret, keeps it
 * in sessionStorage, and sends it as `Authorization: Bearer` to `GET /dashboard/cluster` (every
 * member's status, gathered by this node, and this node's counters) and to `GET /events`.
 */
export function createDashboardRouter(raft: RaftNode, o: DashboardOptions): Router {
  const router = express.Router();
  const timeoutMs = o.memberTimeoutMs ?? 1_000;
  const headers: Record<string, string> = o.secret ? { authorization: `Bearer ${o.secret}` } : {};

  router.get("/dashboard", (_req, res) => {
    res
      .type("text/html")
      .set(
        "content-security-policy",
        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
      )
      .set("cache-control", "no-store")
      .send(dashboardPage);
  });

  router.get("/dashboard/cluster", async (req, res) => {
    if (o.secret !== null && !secretMatches(bearerToken(req.header("authorization")), o.secret)) {
      res
        .status(401)
        .json({ error: { code: "UNAUTHORIZED", message: "missing or wrong secret", node: raft.id } });
      return;
    }
    const self = raft.status();
    const ids = [
      ...new Set([
        ...self.membership.voters,
        ...self.membership.learners,
        ...self.membership.votersOutgoing,
        ...self.membership.learnersNext,
      ]),
    ].sort();
    const addresses = raft.addresses();
    const members = await Promise.all(
      ids.map(async (id): Promise<DashboardMember> => {
        const url = addresses[id] ?? "";
        if (id === raft.id) return { id, url, status: self, error: null };
        try {
          const r = await fetch(`${url.replace(/\/$/, "")}${o.apiPath}/status`, {
            headers,
            signal: AbortSignal.timeout(timeoutMs),
          });
          const status = (await r.json()) as NodeStatus;
          return { id, url, status, error: r.ok ? null : `HTTP ${r.status}` };
        } catch (e) {
          return { id, url, status: null, error: (e as Error).message };
        }
      }),
    );
    res.set("cache-control", "no-store").json({
      node: raft.id,
      time: Date.now(),
      members,
      counters: o.metrics ? await o.metrics.counters() : null,
    });
  });

  return router;
}
