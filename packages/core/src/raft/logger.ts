/** Where the Raft core reports what it does. Every line already names the node. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const noop = (): void => {};

/** Discards everything; the default. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
