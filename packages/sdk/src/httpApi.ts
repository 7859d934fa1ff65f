import {
  type Logger,
  ProposalDroppedError,
  ProposalLostError,
  RaftkitError,
  StoppedError,
  TimeoutError,
} from "@raftkit/core";
import express, { type Request, type Response, type Router } from "express";
import type { Subscription } from "rxjs";
import { bearerToken, secretMatches } from "./auth.js";
import { runBatchCalls, runCommand, runQuery } from "./batchCalls.js";
import { InvalidCallOptionsError } from "./callOptions.js";
import { MembershipStepError } from "./cluster/membershipErrors.js";
import { createClusterRouter } from "./clusterRoutes.js";
import { DivergedError } from "./divergence.js";
import {
  CommandError,
  DecodeError,
  QueryError,
  SessionExpiredError,
  UnknownOperationError,
  ValidationError,
} from "./errors.js";
import type { CommandRunner, MachineNode } from "./machineNode.js";
import { CommandNotAvailableError, UpgradeRefusedError } from "./machineVersionErrors.js";
import { createOperatorRouter } from "./operatorRoutes.js";
import type { WithToken } from "./readToken.js";
import { streamStateEvents } from "./stateEvents.js";
import type { AnyMachine } from "./types.js";
import {
  type ApiErrorBody,
  type ApiErrorCode,
  type BatchRequest,
  type CommandRequest,
  decodeBody,
  encodeBody,
  errorStatus,
  type QueryRequest,
} from "./wire.js";

export interface AppApiOptions {
  /** Required as `Authorization: Bearer <secret>` on every request when set. */
  secret?: string;
  /** Largest request body accepted. Default "1mb". */
  maxBodySize?: string;
  /** Most state events per second on the event stream. Default 10. */
  maxStateEventsPerSecond?: number;
  /** Where refused requests (wrong or missing secret) are reported, at most once a minute per address. */
  logger?: Logger;
  /**
   * The members this node bootstrapped the cluster with, if it did (its IDENTITY record): served
   * on `GET /members`, so that a first member starting late bootstraps the same ones.
   */
  initialMembers?: string[];
}

/** Maps an error to the API's code, so clients can tell "retry" from "give up". */
export function toApiError(e: unknown, node: string): { status: number; body: ApiErrorBody } {
  let code: ApiErrorCode = "INTERNAL";
  const err = e instanceof Error ? e : new Error(String(e));
  const body: ApiErrorBody = { error: { code, message: err.message, node } };
  if (e instanceof UnknownOperationError)
    code = err.message.startsWith("unknown query") ? "UNKNOWN_QUERY" : "UNKNOWN_COMMAND";
  else if (e instanceof DecodeError) code = "DECODE";
  else if (e instanceof ValidationError) {
    code = "VALIDATION";
    body.error.issues = e.issues;
    body.error.operation = { kind: e.kind, name: e.operation };
  } else if (e instanceof InvalidCallOptionsError) code = "BAD_REQUEST";
  else if (e instanceof DivergedError) code = "DIVERGED";
  else if (e instanceof SessionExpiredError) {
    code = "SESSION_EXPIRED";
    body.error.mayHaveBeenApplied = e.retried;
  } else if (e instanceof CommandError) {
    code = "COMMAND_FAILED";
    body.error.name = e.errorName;
    if (e.code !== undefined) body.error.errorCode = e.code;
  } else if (e instanceof QueryError) {
    code = "QUERY_FAILED";
    body.error.name = e.errorName;
  } else if (e instanceof TimeoutError) {
    code = "TIMEOUT";
    body.error.mayHaveBeenApplied = e.mayHaveBeenApplied;
  } else if (e instanceof StoppedError) {
    code = "STOPPED";
    body.error.mayHaveBeenApplied = true;
  } else if (e instanceof ProposalDroppedError || e instanceof ProposalLostError) {
    code = "UNAVAILABLE";
    body.error.mayHaveBeenApplied = false;
  } else if (e instanceof CommandNotAvailableError) code = "COMMAND_NOT_AVAILABLE";
  else if (e instanceof UpgradeRefusedError) {
    code = "UPGRADE_REFUSED";
    body.error.lacking = e.lacking;
  } else if (e instanceof MembershipStepError) {
    code = "MEMBERSHIP_INCOMPLETE";
    body.error.membership = e.toWire();
  } else if (e instanceof RaftkitError && e.code === "DECODE") code = "DECODE";
  body.error.code = code;
  return { status: errorStatus[code], body };
}

/**
 * An express router serving a node's machine to applications: run a command, run a query,
 * status, and server-sent events. Mount it in your own app (`app.use("/raftkit", router)`).
 *
 * Routes: `POST /commands/:name` (body: superjson {@link CommandRequest}), `POST /queries/:name`
 * (body: superjson {@link QueryRequest}), `GET /status`, `GET /events` (SSE: `status`,
 * `commit`, `state`), `POST /cluster/{addVoter,addLearner,promote,remove,replace,transfer}`, and the operator routes
 * `GET /node` and `GET /snapshot` (see {@link createOperatorRouter}).
 */
export function createAppRouter<M extends AnyMachine>(
  node: MachineNode<M> & { runner: CommandRunner<M> },
  addresses: () => Record<string, string>,
  o: AppApiOptions = {},
): Router {
  const router = express.Router();
  const fail = (res: Response, e: unknown): void => {
    const { status, body } = toApiError(e, node.id);
    res.status(status).type("application/json").send(JSON.stringify(body));
  };

  const refusedAt = new Map<string, number>();
  router.use((req, res, next) => {
    if (o.secret !== undefined && !secretMatches(bearerToken(req.header("authorization")), o.secret)) {
      const from = req.socket.remoteAddress ?? "?";
      if (o.logger && Date.now() - (refusedAt.get(from) ?? 0) > 60_000) {
        refusedAt.set(from, Date.now());
        o.logger.warn(
          `node ${node.id}: refused ${req.method} ${req.originalUrl} from ${from}: missing or wrong secret`,
          {
            event: "refused",
            from,
            path: req.originalUrl,
          },
        );
      }
      res.status(401).json({
        error: {
          code: "UNAUTHORIZED",
          message: "missing or wrong secret: send Authorization: Bearer <secret>",
          node: node.id,
        },
      } satisfies ApiErrorBody);
      return;
    }
    next();
  });
  router.use(express.text({ type: () => true, limit: o.maxBodySize ?? "1mb" }));
  router.use(createOperatorRouter(node, addresses));

  const parse = <T>(req: Request): T => {
    const text = typeof req.body === "string" && req.body.length > 0 ? req.body : '{"json":{}}';
    try {
      return decodeBody<T>(text);
    } catch (e) {
      throw new DecodeError("the request body", e);
    }
  };

  /** Answers with the call's result and read token (`index`), or with the API error it failed with. */
  const answer = async (res: Response, call: () => Promise<WithToken<unknown>>): Promise<void> => {
    try {
      const { result, token } = await call();
      res.type("application/json").send(encodeBody({ result, index: token }));
    } catch (e) {
      fail(res, e);
    }
  };

  router.post("/commands/:name", (req, res) =>
    answer(res, () => runCommand(node, String(req.params.name), parse<CommandRequest>(req))),
  );

  router.post("/queries/:name", (req, res) =>
    answer(res, () => runQuery(node, String(req.params.name), parse<QueryRequest>(req))),
  );

  // Many calls in one request (what createClient sends when calls are queued behind one in
  // flight): each runs as if sent alone; the answer lists each one's outcome in order.
  router.post("/batch", async (req, res) => {
    try {
      const outcomes = await runBatchCalls(node, parse<BatchRequest>(req));
      res.type("application/json").send(encodeBody({ outcomes }));
    } catch (e) {
      fail(res, e);
    }
  });

  // Every node mounts the API at the same path, so the leader's API is its address plus this router's path.
  const leaderApi = (leader: string | null, baseUrl: string): string | null => {
    const address = leader ? addresses()[leader] : undefined;
    return address ? `${address.replace(/\/$/, "")}${baseUrl}` : null;
  };

  // A stopped node answers 503 (with stopped and stoppedReason in the body), so health checks
  // and clients pass it by.
  router.get("/status", (req, res) => {
    const s = node.status();
    res.status(s.stopped ? 503 : 200).json({ ...s, leaderUrl: leaderApi(s.leader, req.baseUrl) });
  });

  router.get("/members", (_req, res) => {
    res.json({
      membership: node.status().membership,
      published: node.publishedMembers(),
      ...(o.initialMembers && { initialMembers: o.initialMembers }),
    });
  });

  router.use(createClusterRouter(node, parse, (e) => toApiError(e, node.id)));

  router.get("/events", (req, res) => {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    const send = (event: string, data: unknown): void => {
      res.write(`event: ${event}\ndata: ${encodeBody(data)}\n\n`);
    };
    const perSecond = o.maxStateEventsPerSecond ?? 10;
    const subs: Subscription[] = [
      node.status$.subscribe((s) => send("status", { ...s, leaderUrl: leaderApi(s.leader, req.baseUrl) })),
      node.commits$.subscribe((c) => send("commit", c)),
      streamStateEvents(node.state$, perSecond, (chunk) => res.write(chunk)),
    ];
    const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
    req.on("close", () => {
      clearInterval(heartbeat);
      for (const s of subs) s.unsubscribe();
    });
  });

  return router;
}
