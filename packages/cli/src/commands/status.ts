import { apiPathOf, type Probe, parseEndpoints, probe } from "../cluster.js";
import { CliError, EXIT, type ExitCode } from "../exitCodes.js";
import { renderTable } from "../table.js";

/** One member's row of `raftkit status`. */
export interface MemberStatus {
  id: string;
  address: string | null;
  /** "voter" or "learner" in the leader's membership. */
  kind: string;
  role: string | null;
  term: number | null;
  leader: string | null;
  commit: number | null;
  applied: number | null;
  /** How many committed entries it has yet to apply, against the leader's commit index. */
  lag: number | null;
  /** "healthy", "unreachable", "stopped: <reason>", or "no leader". */
  health: string;
  version: string | null;
  /** The machine version the log is applied at, as this member sees it. */
  machineVersion: number | null;
  /** The highest machine version this member's code supports. */
  supportsMachineVersion: number | null;
}

/**
 * Every member's status, as seen through the given endpoints: the membership and addresses
 * come from the leader (or the first endpoint that answers), then each member is asked itself.
 */
export async function clusterStatus(
  endpoints: string[],
  secret: string | undefined,
): Promise<{ leader: string | null; members: MemberStatus[] }> {
  const probes = await Promise.all(endpoints.map((e) => probe(e, secret)));
  const answered = probes.filter((p) => p.status !== null);
  if (answered.length === 0)
    throw new CliError(
      EXIT.UNREACHABLE,
      `no endpoint answered (${probes.map((p) => p.error).join("; ")}); check --endpoints, the secret, and that the members run`,
    );
  const source =
    answered.find((p) => p.status!.role === "leader") ??
    answered.find((p) => !p.status!.stopped) ??
    answered[0]!;
  const leaderId = source.status!.leader;
  const m = source.status!.membership;
  const ids = [...new Set([...m.voters, ...m.votersOutgoing, ...m.learners, ...m.learnersNext])].sort();
  const addresses = source.info?.addresses ?? {};
  const apiPath = apiPathOf(source.endpoint);
  const byId = new Map<string, Probe>();
  for (const p of answered) if (p.status) byId.set(p.status.id, p);
  await Promise.all(
    ids
      .filter((id) => !byId.has(id) && addresses[id])
      .map(async (id) => {
        byId.set(id, await probe(`${addresses[id]!.replace(/\/$/, "")}${apiPath}`, secret));
      }),
  );
  const leaderCommit = leaderId ? (byId.get(leaderId)?.status?.commit ?? null) : null;
  const members = ids.map((id): MemberStatus => {
    const p = byId.get(id);
    const s = p?.status ?? null;
    const health = !s
      ? "unreachable"
      : s.stopped
        ? `stopped: ${s.stoppedReason ?? "unknown reason"}`
        : s.leader === null
          ? "no leader"
          : "healthy";
    return {
      id,
      address: addresses[id] ?? null,
      kind: m.learners.includes(id) || m.learnersNext.includes(id) ? "learner" : "voter",
      role: s ? s.role : null,
      term: s?.term ?? null,
      leader: s?.leader ?? null,
      commit: s?.commit ?? null,
      applied: s?.applied ?? null,
      lag: s && leaderCommit !== null ? Math.max(0, leaderCommit - s.applied) : null,
      health,
      version: p?.info?.version ?? null,
      machineVersion: s?.machineVersion ?? null,
      supportsMachineVersion: s?.supportsMachineVersion ?? null,
    };
  });
  return { leader: leaderId, members };
}

/** `raftkit status`: prints the table (or JSON); exits FAILED if any member is not healthy. */
export async function statusCommand(o: {
  endpoints?: string | undefined;
  secret: string | undefined;
  output: string;
}): Promise<ExitCode> {
  const { leader, members } = await clusterStatus(parseEndpoints(o.endpoints), o.secret);
  if (o.output === "json") process.stdout.write(`${JSON.stringify({ leader, members }, null, 2)}\n`);
  else {
    const dash = (v: unknown): string => (v === null || v === undefined ? "-" : String(v));
    process.stdout.write(
      `${renderTable(
        [
          "ID",
          "ADDRESS",
          "KIND",
          "ROLE",
          "TERM",
          "LEADER",
          "COMMIT",
          "APPLIED",
          "LAG",
          "HEALTH",
          "VERSION",
          "MACHINE",
        ],
        members.map((r) => [
          r.id,
          dash(r.address),
          r.kind,
          dash(r.role),
          dash(r.term),
          dash(r.leader),
          dash(r.commit),
          dash(r.applied),
          dash(r.lag),
          r.health,
          dash(r.version),
          r.machineVersion === null
            ? "-"
            : `v${r.machineVersion} (supports ${dash(r.supportsMachineVersion)})`,
        ]),
      )}\n`,
    );
  }
  return members.every((r) => r.health === "healthy") ? EXIT.OK : EXIT.FAILED;
}
