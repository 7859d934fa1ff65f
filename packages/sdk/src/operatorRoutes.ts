import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { encodeSnapshot } from "@raftkit/store-fs";
import express, { type Router } from "express";
import { DecodeError } from "./errors.js";
import { toApiError } from "./httpApi.js";
import type { MachineNode } from "./machineNode.js";
import type { AnyMachine } from "./types.js";

/**
 * The version of @raftkit/sdk this node runs, read by the package's own name: the code runs from
 * src/, from dist/ or from a chunk in dist/chunks/, so a relative path would not do.
 */
export const SDK_VERSION = (
  createRequire(import.meta.url)("@raftkit/sdk/package.json") as { version: string }
).version;

/** What `GET /node` answers: who this node is and how it knows the members. */
export interface NodeInfo {
  id: string;
  version: string;
  /** Every member's base URL as this node knows them. */
  addresses: Record<string, string>;
}

/**
 * Routes for operators (the `raftkit` CLI), mounted inside the app API behind its secret:
 * `GET /node` ({@link NodeInfo}) and `GET /snapshot`: a consistent backup. The snapshot is taken
 * after a linearizable read barrier (ReadIndex), so it holds every write acknowledged before the
 * request, on whichever member answers; its body is a snapshot file (index, term, membership,
 * addresses, the machine's state and session table, with a CRC), its `x-raftkit-sha256` header
 * the body's SHA-256. `POST /upgrade-machine` (body `{ "target"?: number }`, JSON or superjson
 * `{ "json": … }`) runs `cluster.upgradeMachine()` and answers `{ from, to }`.
 */
export function createOperatorRouter<M extends AnyMachine>(
  node: MachineNode<M>,
  addresses: () => Record<string, string>,
): Router {
  const router = express.Router();
  router.get("/node", (_req, res) => {
    res.json({ id: node.id, version: SDK_VERSION, addresses: addresses() } satisfies NodeInfo);
  });
  router.get("/snapshot", async (_req, res) => {
    try {
      await node.raft.readIndex();
      const snap = await node.raft.captureSnapshot();
      const body = encodeSnapshot(snap);
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": String(body.byteLength),
        "x-raftkit-snapshot-index": String(snap.meta.index),
        "x-raftkit-snapshot-term": String(snap.meta.term),
        "x-raftkit-sha256": createHash("sha256").update(body).digest("hex"),
      });
      res.end(body);
    } catch (e) {
      const { status, body } = toApiError(e, node.id);
      res.status(status).type("application/json").send(JSON.stringify(body));
    }
  });
  router.post("/upgrade-machine", async (req, res) => {
    try {
      res.json(await node.cluster.upgradeMachine(upgradeTarget(req.body)));
    } catch (e) {
      const { status, body } = toApiError(e, node.id);
      res.status(status).type("application/json").send(JSON.stringify(body));
    }
  });
  return router;
}

/** The target version of an upgrade-machine request body: JSON `{ target }`, bare or as superjson's `{ json: { target } }`. */
function upgradeTarget(body: unknown): number | undefined {
  if (typeof body !== "string" || body.trim() === "") return undefined;
  let parsed: { target?: unknown; json?: { target?: unknown } };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch (e) {
    throw new DecodeError("the request body", e);
  }
  const target = parsed.json?.target ?? parsed.target;
  if (target === undefined || target === null) return undefined;
  if (typeof target !== "number" || !Number.isSafeInteger(target) || target < 1)
    throw new DecodeError("the request body", new Error("target must be a machine version, an integer ≥ 1"));
  return target;
}
