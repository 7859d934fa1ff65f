import { clusterOp, parseEndpoints } from "../cluster.js";
import { EXIT, type ExitCode } from "../exitCodes.js";

/**
 * `raftkit replace OLD NEW URL`: replaces voter OLD by NEW (started with --join at URL) through
 * the leader: NEW joins as a learner, catches up, and is swapped in for OLD in one joint change
 * (see docs/membership.md). Safe to run again after a failure: it resumes where it stopped.
 */
export async function replaceCommand(
  oldId: string,
  newId: string,
  address: string,
  o: { endpoints?: string | undefined; secret: string | undefined; timeoutMs: number },
): Promise<ExitCode> {
  const status = await clusterOp(
    parseEndpoints(o.endpoints),
    o.secret,
    "replace",
    { id: oldId, newId, address },
    o.timeoutMs,
  );
  const m = status.membership;
  process.stdout.write(
    `replaced ${oldId} by ${newId}; never start ${oldId} again with its old data directory\nvoters: ${m.voters.join(", ")}${m.learners.length ? `; learners: ${m.learners.join(", ")}` : ""}\n`,
  );
  return EXIT.OK;
}
