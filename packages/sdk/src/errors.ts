import { RaftkitError } from "@raftkit/core";

/** A command's reducer threw: the state is unchanged on every node; `message` is the reducer's. */
export class CommandError extends Error {
  /** The name of the error the reducer threw (e.g. "RangeError"). */
  readonly errorName: string;
  readonly command: string;
  constructor(command: string, errorName: string, message: string) {
    super(message);
    this.name = "CommandError";
    this.command = command;
    this.errorName = errorName;
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

/** A query function threw; `message` is the query's. */
export class QueryError extends Error {
  readonly errorName: string;
  readonly query: string;
  constructor(query: string, errorName: string, message: string) {
    super(message);
    this.name = "QueryError";
    this.query = query;
    this.errorName = errorName;
  }
}
