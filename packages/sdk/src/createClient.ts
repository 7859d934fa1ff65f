import { type NodeStatus, TimeoutError } from "@raftkit/core";
import { distinctUntilChanged, filter, map, Observable, share } from "rxjs";
import { ApiConnection } from "./apiConnection.js";
import { ApiError } from "./apiError.js";
import { type ApiStream, StreamUnsupportedError } from "./apiStream.js";
import { CallerSession } from "./callerSession.js";
import { checkCommandOptions, checkQueryOptions, InvalidCallOptionsError } from "./callOptions.js";
import { runMembershipCall } from "./cluster/membershipCall.js";
import type { MembershipProgress } from "./cluster/membershipProgress.js";
import {
  CommandError,
  DecodeError,
  QueryError,
  SessionExpiredError,
  UnknownOperationError,
  ValidationError,
} from "./errors.js";
import { operationProxy } from "./operationProxy.js";
import { isReadToken, type ReadToken, type WithToken } from "./readToken.js";
import { readSse } from "./sse.js";
import type { ReadonlyState } from "./stateTypes.js";
import type {
  AnyMachine,
  CommandOptions,
  Commands,
  CommitEvent,
  Queries,
  QueryOptions,
  StateOf,
  TokenCalls,
} from "./types.js";
import {
  type ApiErrorBody,
  type BatchOutcome,
  type BatchRequest,
  type CommandRequest,
  decodeBody,
  encodeBody,
  type QueryRequest,
} from "./wire.js";

export { ApiError } from "./apiError.js";

export interface ClientOptions {
  /** The app API of every node you know, e.g. `["http://10.0.0.1:7000/raftkit", …]`. */
  endpoints: string[];
  /** The nodes' app API secret, if they set one. */
  secret?: string;
  /** Overall deadline of one call including retries on other nodes, in ms. Default 30,000. */
  timeoutMs?: number;
  /** Deadline of a single HTTP request, in ms. Default 5,000. */
  requestTimeoutMs?: number;
  /**
   * Where `"session"` reads go first: any node, a follower near you included. Default: the
   * first of `endpoints`. On a failure they move on through `endpoints`.
   */
  sessionReadEndpoint?: string;
}

/** A typed connection to a raftkit cluster over its app API; see {@link createClient}. */
export interface Client<M extends AnyMachine> {
  readonly commands: Commands<M>;
  readonly query: Queries<M>;
  /** The same calls, each answering `{ result, token }` (see {@link ReadToken}). */
  readonly withToken: TokenCalls<M>;
  /**
   * The highest read token this client has seen, from its commands' answers and its reads'
   * (0 before any). Its `"session"` reads wait for it by default, so they observe every
   * write this client made and never go back behind an earlier read, on whichever node.
   */
  readonly token: ReadToken;
  /** This client's session id: its commands are applied at most once. A new one replaces it once it expired. */
  readonly session: string;
  readonly status$: Observable<NodeStatus & { leaderUrl: string | null }>;
  readonly leader$: Observable<string | null>;
  readonly commits$: Observable<CommitEvent<M>>;
  readonly state$: Observable<ReadonlyState<StateOf<M>>>;
  /** The endpoint currently preferred (the leader's, once known). */
  endpoint(): string;
  /** Stepped membership calls, run by the leader (see docs/membership.md). */
  readonly cluster: ClientCluster;
}

/** What a stepped membership call over the app API takes. */
export interface ClientMembershipOptions {
  /** The new node counts as caught up within this many entries of the leader's last index. Default 100. */
  maxLagEntries?: number;
  /** How long the node waits for the new node to catch up, in ms. Default 300,000. */
  catchUpTimeoutMs?: number;
  /** Called with each step as the node runs it, and with the learner's progress while it catches up. */
  onProgress?: (p: MembershipProgress) => void;
  /** Deadline of the whole call, in ms. Default 330,000 (the node waits up to 300,000 for a catch-up). */
  timeoutMs?: number;
}

/**
 * `cluster.replace` and the staged `cluster.addVoter` of a node's API, over HTTP. A call that
 * stops part-way rejects with {@link MembershipStepError}: call it again to resume.
 */
export interface ClientCluster {
  replace(oldId: string, newId: string, address: string, options?: ClientMembershipOptions): Promise<void>;
  addVoter(id: string, address: string, options?: ClientMembershipOptions): Promise<void>;
}

const RETRYABLE = new Set(["TIMEOUT", "UNAVAILABLE", "STOPPED", "DIVERGED", "INTERNAL"]);
/** Requests in flight at once; calls made meanwhile are sent together in the next request. */
const MAX_IN_FLIGHT = 4;
const MAX_BATCH = 512;

function parseError(status: number, text: string): ApiErrorBody["error"] {
  try {
    return (JSON.parse(text) as ApiErrorBody).error;
  } catch {
    return { code: "INTERNAL", message: `HTTP ${status}: ${text.slice(0, 200)}` };
  }
}

/**
 * A typed client for a cluster running `M`: `createClient<typeof machine>({ endpoints })`
 * (import the machine with `import type`, as no server code is needed). Commands go to the
 * leader when known; on a timeout, a leader change or a node failure they are retried on
 * another node with the same session and sequence number, so each is applied at most once.
 * When the session expired, a command not sent before goes again under a new session; one
 * that was sent before fails with {@link SessionExpiredError}.
 */
export function createClient<M extends AnyMachine>(o: ClientOptions): Client<M> {
  if (o.endpoints.length === 0) throw new TypeError("createClient needs at least one endpoint");
  const session = new CallerSession();
  /** The highest read token seen in any answer. */
  let seen: ReadToken = 0;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const requestTimeoutMs = o.requestTimeoutMs ?? 5_000;
  let preferred = o.endpoints[0]!;
  let rotation = 0;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (o.secret !== undefined) headers.authorization = `Bearer ${o.secret}`;

  const connections = new Map<string, ApiConnection>();
  const connection = (endpoint: string): ApiConnection => {
    let c = connections.get(endpoint);
    if (!c) {
      c = new ApiConnection(endpoint, headers);
      connections.set(endpoint, c);
    }
    return c;
  };
  const rotate = (): void => {
    rotation = (rotation + 1) % o.endpoints.length;
    preferred = o.endpoints[rotation]!;
  };

  async function findLeader(): Promise<void> {
    for (let i = 0; i < o.endpoints.length; i++) {
      try {
        const res = await connection(preferred).request("GET", "status", undefined, requestTimeoutMs);
        if (res.status === 200) {
          const s = JSON.parse(res.text) as { leaderUrl: string | null; stopped?: boolean };
          // A stopped node is passed by like an unreachable one.
          if (s.leaderUrl && s.stopped !== true) {
            preferred = s.leaderUrl;
            return;
          }
        }
      } catch {
        // try the next endpoint
      }
      rotate();
    }
  }

  // Calls made while requests are in flight wait and go out together in the next one.
  type Queued = {
    call: BatchRequest["calls"][number];
    resolve(o: BatchOutcome): void;
    reject(e: unknown): void;
  };
  let queue: Queued[] = [];
  let inFlight = 0;
  const flush = (): void => {
    while (inFlight < MAX_IN_FLIGHT && queue.length > 0) {
      const batch = queue.slice(0, MAX_BATCH);
      queue = queue.slice(MAX_BATCH);
      inFlight++;
      connection(preferred)
        .request("POST", "batch", encodeBody({ calls: batch.map((q) => q.call) }), requestTimeoutMs + 1_000)
        .then((res) => {
          if (res.status !== 200) {
            const error = parseError(res.status, res.text);
            for (const q of batch) q.resolve({ ok: false, status: res.status, error });
            return;
          }
          const { outcomes } = decodeBody<{ outcomes: BatchOutcome[] }>(res.text);
          batch.forEach((q, i) => {
            q.resolve(outcomes[i]!);
          });
        })
        .catch((e: unknown) => {
          for (const q of batch) q.reject(e);
        })
        .finally(() => {
          inFlight--;
          flush();
        });
    }
  };
  // Each endpoint's app stream, when it has one: calls then skip the request per batch and are
  // answered one by one. A node that answers the upgrade with a status is asked again in 30 s.
  const streams = new Map<
    string,
    { stream?: ApiStream; opening?: Promise<ApiStream | null> | undefined; noStreamUntil?: number }
  >();
  const streamFor = (endpoint: string): ApiStream | Promise<ApiStream | null> | null => {
    let entry = streams.get(endpoint);
    if (!entry) {
      entry = {};
      streams.set(endpoint, entry);
    }
    if (entry.stream?.open) return entry.stream;
    if (entry.opening) return entry.opening;
    if ((entry.noStreamUntil ?? 0) > Date.now()) return null;
    const e = entry;
    e.opening = connection(endpoint)
      .openStream(requestTimeoutMs + 1_000)
      .then(
        (stream) => {
          e.stream = stream;
          return stream;
        },
        (err: unknown) => {
          if (err instanceof StreamUnsupportedError) e.noStreamUntil = Date.now() + 30_000;
          return null;
        },
      )
      .finally(() => {
        e.opening = undefined;
      });
    return e.opening;
  };
  const dispatch = async (call: Queued["call"]): Promise<BatchOutcome> => {
    const found = streamFor(preferred);
    const stream = found instanceof Promise ? await found : found;
    if (stream !== null) return stream.call(call);
    return new Promise((resolve, reject) => {
      queue.push({ call, resolve, reject });
      flush();
    });
  };

  // Session reads go to one node of the caller's choice, not the leader: over its app stream,
  // or else each in its own request. On a failure the client moves on to the next endpoint.
  const readEndpoints = [
    ...(o.sessionReadEndpoint !== undefined ? [o.sessionReadEndpoint] : []),
    ...o.endpoints.filter((e) => e !== o.sessionReadEndpoint),
  ];
  let readAt = 0;
  const readEndpoint = (): string => readEndpoints[readAt]!;
  const sessionReadAt = async (endpoint: string, c: Queued["call"]): Promise<BatchOutcome> => {
    const found = streamFor(endpoint);
    const stream = found instanceof Promise ? await found : found;
    if (stream !== null) return stream.call(c);
    const res = await connection(endpoint).request(
      "POST",
      `queries/${encodeURIComponent(c.name)}`,
      encodeBody(c.body),
      requestTimeoutMs,
    );
    if (res.status !== 200) return { ok: false, status: res.status, error: parseError(res.status, res.text) };
    const { result, index } = decodeBody<{ result: unknown; index?: number }>(res.text);
    return { ok: true, result, ...(index !== undefined && { index }) };
  };
  const sendSessionRead = async (c: Queued["call"]): Promise<BatchOutcome> => {
    try {
      const outcome = await sessionReadAt(readEndpoint(), c);
      if (!outcome.ok && RETRYABLE.has(outcome.error.code)) readAt = (readAt + 1) % readEndpoints.length;
      return outcome;
    } catch (e) {
      readAt = (readAt + 1) % readEndpoints.length;
      throw e;
    }
  };

  /** Sends one call until it succeeds, fails for good, or the deadline passes. */
  async function call(
    kind: "command" | "query",
    name: string,
    body: (budget: number) => CommandRequest | QueryRequest,
    callTimeoutMs = timeoutMs,
    send: (call: Queued["call"]) => Promise<BatchOutcome> = dispatch,
  ): Promise<WithToken<unknown>> {
    const deadline = Date.now() + callTimeoutMs;
    let mayHaveBeenApplied = false;
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0)
        throw new TimeoutError(
          `client ${session.id}`,
          `${kind} "${name}"`,
          callTimeoutMs,
          mayHaveBeenApplied,
        );
      let outcome: BatchOutcome;
      try {
        outcome = await send({ kind, name, body: body(remaining) });
      } catch (e) {
        // A call too large for any node fails as it is; anything else may have reached the node.
        if (e instanceof RangeError) throw e;
        mayHaveBeenApplied = kind === "command";
        rotate();
        await findLeader();
        await new Promise((r) => setTimeout(r, Math.min(500, 25 * 2 ** Math.min(attempt, 4))));
        continue;
      }
      if (outcome.ok) {
        // A node that answers with a malformed token is not trusted with it.
        const token = isReadToken(outcome.index) ? outcome.index : 0;
        seen = Math.max(seen, token);
        return { result: outcome.result, token };
      }
      const err = outcome.error;
      if (err.code === "SESSION_EXPIRED") {
        const sent = body(remaining) as CommandRequest;
        const retried = mayHaveBeenApplied || err.mayHaveBeenApplied !== false;
        throw new SessionExpiredError(name, sent.session ?? "", sent.seq ?? 0, err.message, retried);
      }
      if (err.code === "COMMAND_FAILED")
        throw new CommandError(name, err.name ?? "Error", err.message, err.errorCode);
      if (err.code === "QUERY_FAILED") throw new QueryError(name, err.name ?? "Error", err.message);
      if (err.code === "UNKNOWN_COMMAND" || err.code === "UNKNOWN_QUERY")
        throw new UnknownOperationError(kind, name, []);
      if (err.code === "VALIDATION")
        throw new ValidationError(err.operation?.kind ?? kind, err.operation?.name ?? name, err.issues ?? []);
      if (err.code === "BAD_REQUEST") throw new InvalidCallOptionsError(err.message);
      if (err.code === "DECODE") throw new DecodeError(`the ${kind} "${name}"`, new Error(err.message));
      if (!RETRYABLE.has(err.code)) throw new ApiError(outcome.status, err);
      if (err.mayHaveBeenApplied !== false) mayHaveBeenApplied = mayHaveBeenApplied || kind === "command";
      rotate();
      await findLeader();
      await new Promise((r) => setTimeout(r, Math.min(500, 25 * 2 ** Math.min(attempt, 4))));
    }
  }

  const runCommand = async (
    name: string,
    arg: unknown,
    options: CommandOptions = {},
  ): Promise<WithToken<unknown>> => {
    checkCommandOptions(name, options);
    // Renews the session once if it expired before this command was ever sent.
    for (let renewed = false; ; renewed = true) {
      const c = session.begin();
      try {
        return await call(
          "command",
          name,
          (budget) => ({
            arg,
            session: c.session,
            seq: c.seq,
            lowest: c.lowest(),
            timeoutMs: Math.min(budget, requestTimeoutMs),
          }),
          options.timeoutMs,
        );
      } catch (e) {
        if (!(e instanceof SessionExpiredError) || e.retried || renewed) throw e;
        session.renew(c.session);
      } finally {
        c.done();
      }
    }
  };
  const runQuery = (name: string, arg: unknown, options: QueryOptions = {}): Promise<WithToken<unknown>> => {
    checkQueryOptions(name, options);
    if (options.consistency !== "session")
      return call("query", name, () => ({ args: [arg, options] }), options.timeoutMs);
    // The later of the caller's token and this client's own: its writes and earlier reads.
    const after = Math.max(seen, options.after ?? 0);
    return call(
      "query",
      name,
      () => ({ args: [arg, { ...options, after }] }),
      options.timeoutMs,
      sendSessionRead,
    );
  };
  const commands = operationProxy(
    (name) => async (arg?: unknown, options?: CommandOptions) =>
      (await runCommand(name, arg, options)).result,
  );
  const query = operationProxy(
    (name) => async (arg?: unknown, options?: QueryOptions) => (await runQuery(name, arg, options)).result,
  );
  const withToken = {
    commands: operationProxy(
      (name) => (arg?: unknown, options?: CommandOptions) => runCommand(name, arg, options),
    ),
    query: operationProxy((name) => (arg?: unknown, options?: QueryOptions) => runQuery(name, arg, options)),
  } as unknown as TokenCalls<M>;

  const events$ = new Observable<{ event: string; data: unknown }>((subscriber) => {
    const abort = new AbortController();
    void (async () => {
      let attempt = 0;
      while (!abort.signal.aborted) {
        try {
          const res = await fetch(`${preferred}/events`, { headers, signal: abort.signal });
          if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
          attempt = 0;
          for await (const ev of readSse(res.body))
            subscriber.next({ event: ev.event, data: decodeBody(ev.data) });
        } catch {
          if (abort.signal.aborted) return;
        }
        rotate();
        await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** Math.min(attempt++, 4))));
      }
    })();
    return () => abort.abort();
  }).pipe(share());

  const status$ = events$.pipe(
    filter((e) => e.event === "status"),
    map((e) => e.data as NodeStatus & { leaderUrl: string | null }),
  );
  return {
    commands: commands as unknown as Commands<M>,
    query: query as unknown as Queries<M>,
    withToken,
    get token() {
      return seen;
    },
    get session() {
      return session.id;
    },
    status$,
    leader$: status$.pipe(
      map((s) => s.leader),
      distinctUntilChanged(),
    ),
    commits$: events$.pipe(
      filter((e) => e.event === "commit"),
      map((e) => e.data as CommitEvent<M>),
    ),
    state$: events$.pipe(
      filter((e) => e.event === "state"),
      map((e) => e.data as ReadonlyState<StateOf<M>>),
    ),
    endpoint: () => preferred,
    cluster: {
      replace: (oldId, newId, address, options = {}) =>
        membershipCall("replace", { id: oldId, newId, address }, options),
      addVoter: (id, address, options = {}) => membershipCall("addVoter", { id, address }, options),
    },
  };

  async function membershipCall(
    op: "replace" | "addVoter",
    body: { id: string; address: string; newId?: string },
    options: ClientMembershipOptions,
  ): Promise<void> {
    await findLeader();
    await runMembershipCall(
      `${preferred.replace(/\/$/, "")}/cluster/${op}`,
      {
        ...body,
        ...(options.maxLagEntries !== undefined && { maxLagEntries: options.maxLagEntries }),
        ...(options.catchUpTimeoutMs !== undefined && { catchUpTimeoutMs: options.catchUpTimeoutMs }),
      },
      { headers, onProgress: options.onProgress, timeoutMs: options.timeoutMs ?? 330_000 },
    );
  }
}
