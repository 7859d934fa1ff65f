import { type MembershipProgress, MembershipStepError, runMembershipCall } from "@raftkit/sdk";
import { findLeader, parseEndpoints, type StatusAnswer } from "../cluster.js";
import { CliError, EXIT, type ExitCode } from "../exitCodes.js";

/** One line per step as the leader runs it, and the learner's lag while it catches up (at most once a second). */
export function progressPrinter(
  newId: string,
  write: (line: string) => void,
  now: () => number = Date.now,
): (p: MembershipProgress) => void {
  let lastLagAt = Number.NEGATIVE_INFINITY;
  return (p) => {
    if (p.phase === "done") return write("done");
    if (p.phase === "progress") {
      if (now() - lastLagAt < 1_000) return;
      lastLagAt = now();
      const { match, lastIndex, leader } = p.progress;
      return write(
        `  catching up: ${newId} lags ${lastIndex - match} entries (match ${match} of ${lastIndex} on ${leader})`,
      );
    }
    write(STEP_LINES[p.step](newId));
  };
}

const STEP_LINES: Record<Exclude<MembershipProgress["step"], "done">, (newId: string) => string> = {
  readMembership: () => "reading the cluster's membership",
  addLearner: (id) => `adding ${id} as a learner`,
  catchUp: (id) => `waiting for ${id} to catch up`,
  promote: (id) => `promoting ${id}`,
  swap: (id) => `promoting ${id} and removing the old member in one joint change`,
  leaveJoint: () => "leaving the joint configuration",
  unpublish: () => "unpublishing the old member",
};

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
  o: {
    endpoints?: string | undefined;
    secret: string | undefined;
    timeoutMs: number;
    /** How long the leader waits for NEW to catch up (its default: 300,000 ms). */
    catchUpTimeoutMs?: number;
  },
): Promise<ExitCode> {
  const leader = await findLeader(parseEndpoints(o.endpoints), o.secret);
  const write = (line: string): void => void process.stdout.write(`${line}\n`);
  let status: StatusAnswer;
  try {
    status = (await runMembershipCall(
      `${leader}/cluster/replace`,
      {
        id: oldId,
        newId,
        address,
        ...(o.catchUpTimeoutMs !== undefined && { catchUpTimeoutMs: o.catchUpTimeoutMs }),
      },
      {
        ...(o.secret !== undefined && { headers: { authorization: `Bearer ${o.secret}` } }),
        onProgress: progressPrinter(newId, write),
        timeoutMs: o.timeoutMs,
      },
    )) as StatusAnswer;
  } catch (e) {
    if (e instanceof MembershipStepError)
      throw new CliError(EXIT.INCOMPLETE, `${e.message} Run the same raftkit replace command again.`);
    throw new CliError(EXIT.FAILED, `replace ${oldId} ${newId} failed: ${(e as Error).message}`);
  }
  const m = status.membership;
  write(
    `replaced ${oldId} by ${newId}; never start ${oldId} again with its old data directory\nvoters: ${m.voters.join(", ")}${m.learners.length ? `; learners: ${m.learners.join(", ")}` : ""}`,
  );
  return EXIT.OK;
}
