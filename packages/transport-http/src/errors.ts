import { RaftkitError } from "@raftkit/core";

/**
 * Bytes that are not a valid batch of Raft messages: wrong magic or version, a length that runs
 * past the end, an unknown message type, a number that is not a safe integer, invalid UTF-8, or
 * bytes left over. `offset` is the byte where decoding stopped and `field` the field being read,
 * e.g. `messages[2].entries[0].data`.
 */
export class MalformedMessageError extends RaftkitError {
  readonly offset: number;
  readonly field: string;
  /** What was wrong, without the offset and field. */
  readonly detail: string;
  constructor(detail: string, offset: number, field: string) {
    super("MALFORMED_MESSAGE", `malformed raft message batch at byte ${offset} (${field}): ${detail}`);
    this.offset = offset;
    this.field = field;
    this.detail = detail;
  }
}

/**
 * A peer's messages arrived before `start()` or after `stop()`; the router answers 503 and the
 * sender retries.
 */
export class TransportNotRunningError extends RaftkitError {
  constructor(nodeId: string) {
    super(
      "TRANSPORT_NOT_RUNNING",
      `node ${nodeId}: the HTTP transport is not running (start() not called yet, or stop() was called); messages are refused until it starts`,
    );
  }
}
