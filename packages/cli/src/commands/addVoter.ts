import { membersLine } from "../cluster.js";
import { EXIT, type ExitCode } from "../exitCodes.js";
import { printLine, runSteppedCommand, type SteppedOptions } from "./steppedCall.js";

/**
 * `raftkit add-voter ID URL`: adds ID (started with --join at URL) through the leader, staged:
 * as a learner first, promoted once it has caught up, printing each step. Stopped part-way, it
 * exits with INCOMPLETE: running it again resumes where it stopped (a learner is not added twice,
 * and a voter already added is left as it is).
 */
export async function addVoterCommand(id: string, address: string, o: SteppedOptions): Promise<ExitCode> {
  const status = await runSteppedCommand("addVoter", { id, address }, id, "add-voter", o);
  printLine(`${id} is a voter`);
  printLine(membersLine(status.membership));
  return EXIT.OK;
}
