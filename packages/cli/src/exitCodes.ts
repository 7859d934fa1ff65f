/**
 * The exit codes of `raftkit`, as documented in docs/cli.md. Scripts can rely on them.
 */
export const EXIT = {
  /** Done. */
  OK: 0,
  /** The operation failed: the cluster refused it, it timed out, or a member is unhealthy (`status`). */
  FAILED: 1,
  /** The command line is wrong: unknown command or option, a missing or malformed value. */
  USAGE: 2,
  /** No endpoint answered, or none knows a leader. */
  UNREACHABLE: 3,
  /** Damaged data: `check` found corruption, or a snapshot file fails its checksum. */
  CORRUPT: 4,
  /** A stepped membership change (`replace`, `add-voter`) stopped part-way: the steps printed are done; run the same command again to resume. */
  INCOMPLETE: 5,
  /** A membership change the current membership makes meaningless or unsafe (e.g. replacing a node that is not a voter): nothing was changed; fix the ids. */
  REFUSED: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one line (what happened and what to do) and exits with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  constructor(exitCode: ExitCode, message: string) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** A usage error: the command line is wrong. */
export const usage = (message: string): CliError => new CliError(EXIT.USAGE, message);
