import { RaftkitError } from "@raftkit/core";

/** The user's own code threw while raftkit ran it; `message` is that error's. */
abstract class UserCodeError extends Error {
  /** The name of the error the user's code threw (e.g. "RangeError"). */
  readonly errorName: string;
  constructor(errorName: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.errorName = errorName;
  }
}

/**
 * A command's reducer threw, or raftkit failed it (`code` NOT_SERIALIZABLE: it returned or
 * put into the state what a snapshot cannot encode; NONDETERMINISM: it read the clock,
 * randomness or a timer): the state is unchanged on every node.
 */
export class CommandError extends UserCodeError {
  readonly command: string;
  /** Set when raftkit failed the command rather than the reducer throwing on its own. */
  readonly code: string | undefined;
  constructor(command: string, errorName: string, message: string, code?: string) {
    super(errorName, message);
    this.command = command;
    this.code = code;
  }
}

/** The machine has no command or query of this name. Nothing was applied. */
export class UnknownOperationError extends Error {
  constructor(kind: "command" | "query", name: string, known: readonly string[]) {
    super(`unknown ${kind} "${name}"; this machine has: ${known.join(", ") || "none"}`);
    this.name = "UnknownOperationError";
  }
}

/** A value could not be encoded or decoded with superjson. Nothing was proposed or applied. */
export class DecodeError extends RaftkitError {
  constructor(what: string, cause: unknown) {
    super(
      "DECODE",
      `${what} cannot be encoded/decoded with superjson: ${(cause as Error)?.message ?? cause}`,
    );
  }
}

/** A query function threw. */
export class QueryError extends UserCodeError {
  readonly query: string;
  constructor(query: string, errorName: string, message: string) {
    super(errorName, message);
    this.query = query;
  }
}

/**
 * The command's session expired (Raft thesis §6.3): it was idle for longer than the session
 * TTL, in log time, and the cluster dropped its deduplication record before this command was
 * applied. The command did not run, and whether an earlier attempt of it ran cannot be known
 * any more, so it is never run again under that session. `node.commands` and createClient's
 * commands start a new session on their own when a command that was not sent before meets
 * this; it reaches the caller only for a command that was (`retried`) or for a session the
 * caller manages itself. Check the state before sending the command again.
 */
export class SessionExpiredError extends RaftkitError {
  readonly command: string;
  readonly session: string;
  readonly seq: number;
  /** True when an earlier attempt of this command was sent and may have been applied. */
  readonly retried: boolean;
  constructor(command: string, session: string, seq: number, message: string, retried: boolean) {
    super("SESSION_EXPIRED", message);
    this.command = command;
    this.session = session;
    this.seq = seq;
    this.retried = retried;
  }
}

/** One problem a schema found in an argument: what, and where (`["items", 0, "name"]`; empty for the argument itself). */
export interface ValidationIssue {
  message: string;
  path: (string | number)[];
}

/**
 * The argument of a command or query does not match its input schema. Raised on the node that
 * received the call, before anything is proposed: nothing was applied. The HTTP API answers
 * it with 400 and code VALIDATION.
 */
export class ValidationError extends RaftkitError {
  readonly kind: "command" | "query";
  readonly operation: string;
  readonly issues: ValidationIssue[];
  constructor(
    kind: "command" | "query",
    operation: string,
    issues: readonly {
      message: string;
      path?: readonly (PropertyKey | { key: PropertyKey })[] | undefined;
    }[],
  ) {
    const list = issues.map((i) => ({
      message: i.message,
      path: (i.path ?? []).map((p) => {
        const key = typeof p === "object" && p !== null ? p.key : p;
        return typeof key === "number" ? key : String(key);
      }),
    }));
    const text = list
      .map((i) => `${i.path.length > 0 ? i.path.join(".") : "(argument)"}: ${i.message}`)
      .join("; ");
    super("VALIDATION", `invalid argument for ${kind} "${operation}": ${text}. Nothing was proposed`);
    this.name = "ValidationError";
    this.kind = kind;
    this.operation = operation;
    this.issues = list;
  }
}
