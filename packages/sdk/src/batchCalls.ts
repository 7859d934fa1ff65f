import { DecodeError } from "./errors.js";
import { toApiError } from "./httpApi.js";
import type { CommandRunner, MachineNode } from "./machineNode.js";
import type { WithToken } from "./readToken.js";
import type { AnyMachine } from "./types.js";
import type { BatchOutcome, BatchRequest, CommandRequest, QueryRequest } from "./wire.js";

/** The node side of the app API's calls. @internal */
export type ApiNode<M extends AnyMachine> = MachineNode<M> & { runner: CommandRunner<M> };

/*
 * Every answer carries a read token (`index` on the wire): the command's log index, or the
 * commit index of the node when it served the query.
 */

/** Runs one command as the app API does: sequenced (exactly-once) when the body carries a session. @internal */
export function runCommand<M extends AnyMachine>(
  node: ApiNode<M>,
  name: string,
  body: CommandRequest,
): Promise<WithToken<unknown>> {
  const opts = body.timeoutMs !== undefined ? { timeoutMs: body.timeoutMs } : {};
  return body.session !== undefined && body.seq !== undefined
    ? node.runner.runSequencedWithToken(
        name,
        body.arg,
        body.session,
        body.seq,
        () => body.lowest ?? body.seq!,
        opts,
      )
    : node.runner.commandWithToken(name, body.arg, opts);
}

/** Runs one query as the app API does. @internal */
export function runQuery<M extends AnyMachine>(
  node: ApiNode<M>,
  name: string,
  body: QueryRequest,
): Promise<WithToken<unknown>> {
  return node.runner.queryWithToken(name, body.args ?? []);
}

/** Runs one call of a batch; never rejects: a failure is its outcome. @internal */
export async function runCall<M extends AnyMachine>(
  node: ApiNode<M>,
  c: BatchRequest["calls"][number],
): Promise<BatchOutcome> {
  try {
    const name = String(c.name);
    const { result, token } =
      c.kind === "query"
        ? await runQuery(node, name, c.body as QueryRequest)
        : await runCommand(node, name, c.body as CommandRequest);
    return { ok: true, result, index: token };
  } catch (e) {
    const { status, body } = toApiError(e, node.id);
    return { ok: false, status, error: body.error };
  }
}

/**
 * Runs every call of a `POST /batch` body, each as if sent alone, and resolves with each one's
 * outcome in order. Throws a {@link DecodeError} for a body that is not a batch.
 *
 * @internal
 */
export async function runBatchCalls<M extends AnyMachine>(
  node: ApiNode<M>,
  request: BatchRequest,
): Promise<BatchOutcome[]> {
  const { calls } = request;
  if (!Array.isArray(calls)) throw new DecodeError("the request body", new Error("calls must be an array"));
  return Promise.all(calls.map((c) => runCall(node, c)));
}
