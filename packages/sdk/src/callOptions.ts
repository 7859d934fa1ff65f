import { isReadToken } from "./readToken.js";
import type { CommandOptions, QueryOptions } from "./types.js";

/** The longest deadline a call may ask for: anything longer is a unit mistake (seconds for ms, a date for a duration). */
export const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;
/** Options a call cannot take (a timeout that is negative, not finite or over a day; an unknown key). Thrown before anything is proposed or read. */
export class InvalidCallOptionsError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "InvalidCallOptionsError";
  }
}

const CONSISTENCIES = new Set(["linearizable", "lease", "session", "stale"]);

function checkTimeout(what: string, timeoutMs: unknown): void {
  if (timeoutMs === undefined) return;
  if (
    typeof timeoutMs !== "number" ||
    !Number.isFinite(timeoutMs) ||
    timeoutMs <= 0 ||
    timeoutMs > MAX_TIMEOUT_MS
  )
    throw new InvalidCallOptionsError(
      `${what}: timeoutMs must be a finite number of milliseconds in (0, ${MAX_TIMEOUT_MS}] (one day), got ${String(timeoutMs)}`,
    );
}

function checkObject(what: string, options: unknown, known: readonly string[]): void {
  if (typeof options !== "object" || options === null || Array.isArray(options))
    throw new InvalidCallOptionsError(
      `${what}: options must be an object like { ${known.join(", ")} }, got ${String(options)}`,
    );
  for (const key of Object.keys(options))
    if (!known.includes(key))
      throw new InvalidCallOptionsError(
        `${what}: unknown option "${key}"; the options are ${known.join(", ")}`,
      );
}

/** Throws a TypeError, before anything is proposed, for options a command cannot take. */
export function checkCommandOptions(name: string, options: CommandOptions): void {
  const what = `command "${name}"`;
  checkObject(what, options, ["timeoutMs"]);
  checkTimeout(what, options.timeoutMs);
}

/** Throws a TypeError, before anything is read, for options a query cannot take. */
export function checkQueryOptions(name: string, options: QueryOptions): void {
  const what = `query "${name}"`;
  checkObject(what, options, ["consistency", "timeoutMs", "after"]);
  checkTimeout(what, options.timeoutMs);
  if (options.consistency !== undefined && !CONSISTENCIES.has(options.consistency))
    throw new InvalidCallOptionsError(
      `${what}: consistency must be "linearizable", "lease", "session" or "stale", got ${String(options.consistency)}`,
    );
  if (options.after === undefined) return;
  if (options.consistency !== "session")
    throw new InvalidCallOptionsError(
      `${what}: after is a session read's option: add consistency: "session"`,
    );
  if (!isReadToken(options.after))
    throw new InvalidCallOptionsError(
      `${what}: after must be a read token (a non-negative integer from a command's or a read's answer), got ${JSON.stringify(options.after) ?? String(options.after)}`,
    );
}
