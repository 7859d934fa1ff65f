import { RaftkitError } from "@raftkit/core";

/**
 * This node's code cannot apply the log: the cluster switched to machine version `needed`
 * (a version switch in the log, or a snapshot taken at that version), and the code only
 * supports up to `supported`. The node stops applying rather than apply newer entries with
 * older reducers. Deploy code whose `defineMachine({ version })` is at least `needed` and
 * restart the node: it resumes where it stopped.
 */
export class MachineTooOldError extends RaftkitError {
  readonly needed: number;
  readonly supported: number;
  constructor(needed: number, supported: number, where: string) {
    super(
      "MACHINE_TOO_OLD",
      `the log is at machine version ${needed} (${where}), but this node's code supports machine versions up to ${supported}: ` +
        `deploy code with defineMachine({ version: ${needed} }) or later on this node and restart it`,
    );
    this.needed = needed;
    this.supported = supported;
  }
}

/**
 * The command exists from machine version `since` on, and the log is at `version`: nothing
 * was proposed. It becomes available once `cluster.upgradeMachine()` reached `since`.
 */
export class CommandNotAvailableError extends RaftkitError {
  readonly command: string;
  readonly since: number;
  readonly version: number;
  constructor(command: string, since: number, version: number) {
    super(
      "COMMAND_NOT_AVAILABLE",
      `command "${command}" exists from machine version ${since} on, and the cluster is at version ${version}: ` +
        `nothing was proposed. Upgrade the machine (raftkit upgrade-machine) once every member runs code that supports version ${since}`,
    );
    this.command = command;
    this.since = since;
    this.version = version;
  }
}

/**
 * `cluster.upgradeMachine()` was refused: a member does not report support for the target
 * version (`lacking`, with what each supports), or the target is not above the current
 * version. The machine version is unchanged.
 */
export class UpgradeRefusedError extends RaftkitError {
  /** The members that do not support the target, with the highest version each reports (0: not reported). */
  readonly lacking: Record<string, number>;
  constructor(message: string, lacking: Record<string, number> = {}) {
    super("UPGRADE_REFUSED", message);
    this.lacking = lacking;
  }
}
