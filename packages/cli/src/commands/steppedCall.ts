import {
  type MembershipProgress,
  MembershipRefusedError,
  MembershipStepError,
  runMembershipCall,
} from "@raftkit/sdk";
import { findLeader, parseEndpoints, type StatusAnswer } from "../cluster.js";
import { CliError, EXIT } from "../exitCodes.js";

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

/** What a stepped command passes on: where to send it, and how long the leader waits for the new node. */
export interface SteppedOptions {
  endpoints?: string | undefined;
  secret: string | undefined;
  timeoutMs: number;
  /** How long the leader waits for the new node to catch up (its default: 300,000 ms). */
  catchUpTimeoutMs?: number;
}

/**
 * Runs a stepped membership call (`replace` or a staged `addVoter`) on the leader, printing each
 * step for `newId`; resolves with the leader's status once done. Maps its failures to exit codes:
 * REFUSED (nothing changed), INCOMPLETE (stopped part-way: the same `raftkit <command>` resumes), FAILED.
 */
export async function runSteppedCommand(
  op: "replace" | "addVoter",
  body: { id: string; newId?: string; address: string },
  newId: string,
  command: "replace" | "add-voter",
  o: SteppedOptions,
): Promise<StatusAnswer> {
  const leader = await findLeader(parseEndpoints(o.endpoints), o.secret);
  try {
    return (await runMembershipCall(
      `${leader}/cluster/${op}`,
      { ...body, ...(o.catchUpTimeoutMs !== undefined && { catchUpTimeoutMs: o.catchUpTimeoutMs }) },
      {
        ...(o.secret !== undefined && { headers: { authorization: `Bearer ${o.secret}` } }),
        onProgress: progressPrinter(newId, printLine),
        timeoutMs: o.timeoutMs,
      },
    )) as StatusAnswer;
  } catch (e) {
    if (e instanceof MembershipRefusedError) throw new CliError(EXIT.REFUSED, e.message);
    if (e instanceof MembershipStepError)
      throw new CliError(EXIT.INCOMPLETE, `${e.message} Run the same raftkit ${command} command again.`);
    const ids = [body.id, body.newId].filter((id) => id !== undefined).join(" ");
    throw new CliError(EXIT.FAILED, `${command} ${ids} failed: ${(e as Error).message}`);
  }
}

/** Writes one line to stdout. */
export const printLine = (line: string): void => void process.stdout.write(`${line}\n`);
