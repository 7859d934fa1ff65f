/** Structured fields of one log line (ids, indexes, durations), beside its message. */
export type LogFields = Record<string, string | number | boolean | null>;

/**
 * Where the Raft core reports what it does. Every line already names the node. `fields`, when
 * given, repeats what the line is about in structured form (a pino-compatible logger puts them
 * in the JSON record; `console` prints them after the message).
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const noop = (): void => {};

/** Discards everything; the default. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
