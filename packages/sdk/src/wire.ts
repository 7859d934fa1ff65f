import type { MembershipStepFailure } from "./cluster/membershipErrors.js";
import { stringifyValue } from "./plainJson.js";
import { parseSuperjson } from "./snapshot/superjsonEqualities.js";

/** The body of a command request from a client. */
export interface CommandRequest {
  arg?: unknown;
  /** The client's session; with `seq`, makes retries exactly-once. */
  session?: string;
  seq?: number;
  /** The client's lowest sequence number still waiting for an answer. */
  lowest?: number;
  timeoutMs?: number;
}

/** `args` is `[arg, options]`; a `"session"` query's options carry `after`, a read token. */
export interface QueryRequest {
  args?: unknown[];
}

/** A successful answer of `POST /commands/:name` or `/queries/:name`: `index` is its read token. */
export interface CallAnswer {
  result: unknown;
  /** The command's log index, or the commit index of the node when it served the query: pass it as a later session read's `after`. */
  index: number;
}

/** Several calls in one request (`POST /batch`). */
export interface BatchRequest {
  calls: { kind: "command" | "query"; name: string; body: CommandRequest | QueryRequest }[];
}

/** The outcome of one call of a batch, in the order of the request. */
export type BatchOutcome =
  | { ok: true; result?: unknown; index?: number }
  | { ok: false; status: number; error: ApiErrorBody["error"] };

/** Error codes the app API answers with, and the HTTP status of each. */
export const errorStatus = {
  UNAUTHORIZED: 401,
  UNKNOWN_COMMAND: 404,
  UNKNOWN_QUERY: 404,
  DECODE: 400,
  VALIDATION: 400,
  BAD_REQUEST: 400,
  COMMAND_FAILED: 422,
  SESSION_EXPIRED: 410,
  QUERY_FAILED: 422,
  TIMEOUT: 504,
  UNAVAILABLE: 503,
  STOPPED: 503,
  DIVERGED: 503,
  COMMAND_NOT_AVAILABLE: 409,
  UPGRADE_REFUSED: 409,
  MEMBERSHIP_INCOMPLETE: 409,
  MEMBERSHIP_REFUSED: 409,
  INTERNAL: 500,
} as const;

export type ApiErrorCode = keyof typeof errorStatus;

/** The JSON body of every error the app API sends. */
export interface ApiErrorBody {
  error: {
    code: ApiErrorCode;
    message: string;
    /** For COMMAND_FAILED: the name of the error the reducer threw. */
    name?: string;
    /**
     * For TIMEOUT and UNAVAILABLE on commands: whether the command may still be applied. For
     * SESSION_EXPIRED: whether an earlier attempt, sent by the node, may have been applied.
     */
    mayHaveBeenApplied?: boolean;
    /** For COMMAND_FAILED when raftkit failed the command: NOT_SERIALIZABLE or NONDETERMINISM. */
    errorCode?: string;
    /** For VALIDATION: what the schema found wrong, and where. */
    issues?: { message: string; path: (string | number)[] }[];
    /** For UPGRADE_REFUSED: the members that do not support the target, with the highest version each reports. */
    lacking?: Record<string, number>;
    /** For MEMBERSHIP_INCOMPLETE: the step that failed, the steps done before it, and why. */
    membership?: MembershipStepFailure;
    /** For MEMBERSHIP_REFUSED: the call refused, and why (nothing was changed). */
    refused?: { call: string; reason: string };
    /** For VALIDATION: the operation whose argument was refused. */
    operation?: { kind: "command" | "query"; name: string };
    /** The node that answered. */
    node?: string;
  };
}

export const encodeBody = (v: unknown): string => stringifyValue(v);
export const decodeBody = <T>(text: string): T => parseSuperjson<T>(text);
