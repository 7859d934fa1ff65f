import { membersLine } from "../cluster.js";
import { EXIT, type ExitCode } from "../exitCodes.js";
import { printLine, runSteppedCommand, type SteppedOptions } from "./steppedCall.js";

/**
 * `raftkit replace OLD NEW URL`: replaces voter OLD by NEW (started with --join at URL) through
 * the leader: NEW joins as a learner, catches up, and is swapped in for OLD in one joint change
 * (see docs/membership.md), printing each step. Stopped part-way, it exits with INCOMPLETE:
 * running it again resumes where it stopped.
 */
export async function replaceCommand(
  oldId: string,
  newId: string,
  address: string,
  o: SteppedOptions,
): Promise<ExitCode> {
  const status = await runSteppedCommand("replace", { id: oldId, newId, address }, newId, "replace", o);
  printLine(`replaced ${oldId} by ${newId}; never start ${oldId} again with its old data directory`);
  printLine(membersLine(status.membership));
  return EXIT.OK;
}
