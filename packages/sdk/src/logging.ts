import type { LogFields, Logger, NodeStatus } from "@raftkit/core";
import pino from "pino";
import type { Observable, Subscription } from "rxjs";

/** pino's level names, and "silent". */
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

type LogMethod = (fields: Record<string, unknown>, message: string) => void;

/**
 * What startNode's `logger` option takes: a pino logger, or any object with pino's methods
 * (each called as `(fields, message)`). When it has `child`, raftkit logs through
 * `child({ node: id })`.
 */
export interface PinoLike {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  child?(bindings: Record<string, unknown>): PinoLike;
}

/**
 * The logger a node writes to: `given` (a child of it when it can make one), or else a pino
 * logger at `level` (default: the `RAFTKIT_LOG_LEVEL` environment variable, else "info") writing
 * JSON lines to stderr. Every record carries `node`.
 */
export function nodeLogger(id: string, given: PinoLike | undefined, level: LogLevel | undefined): PinoLike {
  if (given) return given.child ? given.child({ node: id }) : given;
  const fromEnv = (process.env.RAFTKIT_LOG_LEVEL || undefined) as LogLevel | undefined;
  return pino(
    { level: level ?? fromEnv ?? "info", base: { node: id } },
    pino.destination({ dest: 2, sync: true }),
  );
}

/**
 * Adapts a pino-like logger to the core's dependency-free {@link Logger}: each line becomes one
 * record with the line's fields and the node's current `term` (from `term()`).
 */
export function coreLogger(log: PinoLike, term: () => number | null): Logger {
  const at =
    (method: LogMethod) =>
    (message: string, fields?: LogFields): void => {
      const t = term();
      method.call(log, { ...(t !== null && { term: t }), ...fields }, message);
    };
  return { debug: at(log.debug), info: at(log.info), warn: at(log.warn), error: at(log.error) };
}

/** Logs each change of leader this node sees, with the term; returns what to unsubscribe. */
export function logLeaderChanges(id: string, status$: Observable<NodeStatus>, log: Logger): Subscription {
  let leader: string | null = null;
  return status$.subscribe((s) => {
    if (s.stopped || s.leader === leader) return;
    const previous = leader;
    leader = s.leader;
    if (s.leader === null)
      log.warn(`node ${id}: lost its leader ${previous} at term ${s.term}`, {
        event: "leaderLost",
        previous,
      });
    else
      log.info(`node ${id}: leader is now ${s.leader} at term ${s.term}`, {
        event: "leaderChanged",
        leader: s.leader,
        previous,
      });
  });
}
