import { clusterOp, membersLine, parseEndpoints } from "../cluster.js";
import { EXIT, type ExitCode } from "../exitCodes.js";
import { renderTable } from "../table.js";
import { clusterStatus } from "./status.js";

interface Common {
  endpoints?: string | undefined;
  secret: string | undefined;
  timeoutMs: number;
}

/** `raftkit members`: id, kind, address and health of every member. */
export async function membersCommand(o: Common & { output: string }): Promise<ExitCode> {
  const { leader, members } = await clusterStatus(parseEndpoints(o.endpoints), o.secret);
  const rows = members.map((m) => ({
    id: m.id,
    kind: m.kind,
    address: m.address,
    leader: m.id === leader,
    health: m.health,
  }));
  if (o.output === "json") process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else
    process.stdout.write(
      `${renderTable(
        ["ID", "KIND", "ADDRESS", "LEADER", "HEALTH"],
        rows.map((r) => [r.id, r.kind, r.address ?? "-", r.leader ? "*" : "", r.health]),
      )}\n`,
    );
  return EXIT.OK;
}

/** `add-learner`, `promote`, `remove`, `transfer-leader`: one change through the leader. */
export async function changeCommand(
  op: "addLearner" | "promote" | "remove" | "transfer",
  id: string,
  address: string | undefined,
  o: Common,
): Promise<ExitCode> {
  const status = await clusterOp(
    parseEndpoints(o.endpoints),
    o.secret,
    op,
    { id, ...(address && { address }) },
    o.timeoutMs,
  );
  const done = {
    addLearner: `added ${id} as a learner; start it with --join, then promote it once it has caught up (raftkit status shows its lag)`,
    promote: `promoted ${id} to voter`,
    remove: `removed ${id}; never start it again with its old id and data directory`,
    transfer: `leadership moved to ${id}`,
  }[op];
  process.stdout.write(`${done}\n${membersLine(status.membership)}\n`);
  return EXIT.OK;
}
