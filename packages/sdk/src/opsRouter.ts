import type { NodeStatus, RaftNode } from "@raftkit/core";
import express, { type Router } from "express";
import { bearerToken, secretMatches } from "./auth.js";
import type { NodeMetrics } from "./metrics.js";

/** Options of {@link createOpsRouter}. */
export interface OpsRouterOptions {
  /** Served at GET /metrics; null serves no metrics route. */
  metrics: NodeMetrics | null;
  /** Required as `Authorization: Bearer <secret>` on GET /metrics when set. Default: none. */
  metricsSecret?: string | null;
  /** /health fails when applied trails commit by more than this many entries. Default 1,000. */
  maxApplyLag?: number;
  /** /ready fails when a ReadIndex round takes longer than this, in ms. Default 1,000. */
  readyTimeoutMs?: number;
}

/** Why this node is not healthy, or null when it is. */
export function unhealthyReason(s: NodeStatus, maxApplyLag: number): string | null {
  if (s.stopped) return `stopped${s.stoppedReason ? `: ${s.stoppedReason}` : ""}`;
  if (s.leader === null) return "no leader";
  const lag = s.commit - s.applied;
  if (lag > maxApplyLag)
    return `applied index ${s.applied} is ${lag} entries behind commit index ${s.commit}`;
  return null;
}

/**
 * Routes for operators and load balancers, served without the app API's secret (mount them
 * before the app router): `GET /health` (200 when the node knows a leader and applies, 503
 * with the reason otherwise), `GET /ready` (200 only when a linearizable read would be served
 * now: a ReadIndex round succeeds within `readyTimeoutMs`), and `GET /metrics` (Prometheus
 * text; behind `metricsSecret` when given).
 */
export function createOpsRouter(raft: RaftNode, o: OpsRouterOptions): Router {
  const router = express.Router();
  const maxApplyLag = o.maxApplyLag ?? 1_000;
  const readyTimeoutMs = o.readyTimeoutMs ?? 1_000;
  const summary = (s: NodeStatus) => ({
    node: s.id,
    role: s.role,
    leader: s.leader,
    term: s.term,
    commit: s.commit,
    applied: s.applied,
  });

  router.get("/health", (_req, res) => {
    const s = raft.status();
    const reason = unhealthyReason(s, maxApplyLag);
    res
      .status(reason ? 503 : 200)
      .json(reason ? { health: false, reason, ...summary(s) } : { health: true, ...summary(s) });
  });

  router.get("/ready", async (_req, res) => {
    const s = raft.status();
    const reason = unhealthyReason(s, maxApplyLag);
    if (reason) {
      res.status(503).json({ ready: false, reason, ...summary(s) });
      return;
    }
    try {
      const readIndex = await raft.readIndex({ timeoutMs: readyTimeoutMs });
      res.json({ ready: true, readIndex, ...summary(raft.status()) });
    } catch (e) {
      const reason = `a linearizable read did not complete: ${(e as Error).message}`;
      res.status(503).json({ ready: false, reason, ...summary(raft.status()) });
    }
  });

  const metrics = o.metrics;
  if (metrics) {
    router.get("/metrics", async (req, res) => {
      const secret = o.metricsSecret;
      if (secret && !secretMatches(bearerToken(req.header("authorization")), secret)) {
        res
          .status(401)
          .type("text/plain")
          .send("missing or wrong secret: send Authorization: Bearer <secret>\n");
        return;
      }
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  }
  return router;
}
