import type { Request, Router } from "express";
import express from "express";
import type { MembershipProgress } from "./cluster/membershipProgress.js";
import { DecodeError } from "./errors.js";
import type { MachineNode } from "./machineNode.js";
import type { AnyMachine } from "./types.js";
import type { ApiErrorBody } from "./wire.js";

/** The media type that asks a stepped membership call (replace, addVoter) to stream its progress. */
export const PROGRESS_MEDIA_TYPE = "application/x-ndjson";

/** One line of a streamed membership call: a step or progress, then the outcome as the last line. */
export type MembershipStreamLine =
  | { progress: MembershipProgress }
  | { ok: true; status: unknown }
  | { error: ApiErrorBody["error"]; httpStatus: number };

interface ClusterBody {
  id: string;
  address?: string;
  newId?: string;
  maxLagEntries?: number;
  catchUpTimeoutMs?: number;
}

/**
 * `POST /cluster/{addVoter,addLearner,promote,remove,replace,transfer}`. replace and addVoter
 * stream their steps as NDJSON lines when asked with `Accept: application/x-ndjson` (the
 * outcome is then the last line, with the HTTP status it would have had); otherwise they answer
 * once done, a failure with its status.
 */
export function createClusterRouter<M extends AnyMachine>(
  node: MachineNode<M>,
  parse: <T>(req: Request) => T,
  toError: (e: unknown) => { status: number; body: ApiErrorBody },
): Router {
  const router = express.Router();
  router.post("/cluster/:op", async (req, res) => {
    const streamed = (req.header("accept") ?? "").includes(PROGRESS_MEDIA_TYPE);
    const line = (l: MembershipStreamLine): void => {
      res.write(`${JSON.stringify(l)}\n`);
    };
    const onProgress = streamed
      ? (progress: MembershipProgress): void => {
          if (!res.headersSent) res.status(200).type(PROGRESS_MEDIA_TYPE);
          line({ progress });
        }
      : undefined;
    try {
      const body = parse<ClusterBody>(req);
      const op = String(req.params.op);
      if (typeof body.id !== "string")
        throw new DecodeError("the request body", new Error("id must be a string"));
      const catchUp = {
        ...(typeof body.maxLagEntries === "number" && { maxLagEntries: body.maxLagEntries }),
        ...(typeof body.catchUpTimeoutMs === "number" && { catchUpTimeoutMs: body.catchUpTimeoutMs }),
        ...(onProgress && { onProgress }),
      };
      if (op === "addVoter") await node.cluster.addVoter(body.id, body.address ?? "", catchUp);
      else if (op === "addLearner") await node.cluster.addLearner(body.id, body.address ?? "");
      else if (op === "promote") await node.cluster.promote(body.id);
      else if (op === "remove") await node.cluster.remove(body.id);
      else if (op === "replace") {
        if (typeof body.newId !== "string" || typeof body.address !== "string")
          throw new DecodeError("the request body", new Error("replace needs id, newId and address strings"));
        await node.cluster.replace(body.id, body.newId, body.address, catchUp);
      } else if (op === "transfer") await node.transferLeadership(body.id);
      else {
        res.status(404).json({
          error: { code: "BAD_REQUEST", message: `unknown cluster operation ${op}`, node: node.id },
        });
        return;
      }
      if (res.headersSent) {
        line({ ok: true, status: node.status() });
        res.end();
      } else res.json({ ok: true, status: node.status() });
    } catch (e) {
      const { status, body } = toError(e);
      if (res.headersSent) {
        line({ error: body.error, httpStatus: status });
        res.end();
      } else res.status(status).type("application/json").send(JSON.stringify(body));
    }
  });
  return router;
}
