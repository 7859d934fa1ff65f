import type { NodeInfo, NodeStatus } from "@raftkit/sdk";
import { CliError, EXIT, usage } from "./exitCodes.js";
import { RequestError, requestJson } from "./request.js";

/** The app API's base URL of each endpoint: a bare `http://host:port` gets `/raftkit`. */
export function parseEndpoints(text: string | undefined): string[] {
  const raw = text ?? process.env.RAFTKIT_ENDPOINTS;
  if (!raw) throw usage("no endpoints: give --endpoints URL[,URL…] (or set RAFTKIT_ENDPOINTS)");
  return raw
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean)
    .map((e) => {
      let u: URL;
      try {
        u = new URL(e);
      } catch {
        throw usage(`--endpoints: "${e}" is not a URL; give e.g. http://10.0.0.1:7000`);
      }
      const path = u.pathname.replace(/\/+$/, "");
      return `${u.origin}${path === "" ? "/raftkit" : path}`;
    });
}

/** The API path of an endpoint (`/raftkit`), used to reach other members at their addresses. */
export function apiPathOf(endpoint: string): string {
  return new URL(endpoint).pathname;
}

/** A member's GET /status: the runtime's status, its leader's API, and (from raftkit with machine versions on) the machine version the log is at and the highest its code supports. */
export type StatusAnswer = NodeStatus & {
  leaderUrl: string | null;
  machineVersion?: number;
  supportsMachineVersion?: number;
};

/** `voters: n1, n2, n3; learners: n4` (learners only when there are some), as the change commands print it. */
export function membersLine(m: StatusAnswer["membership"]): string {
  return `voters: ${m.voters.join(", ")}${m.learners.length ? `; learners: ${m.learners.join(", ")}` : ""}`;
}

/** What one member answered; `error` when it did not. */
export interface Probe {
  endpoint: string;
  status: StatusAnswer | null;
  info: NodeInfo | null;
  error: string | null;
}

/** Asks one member for its status and identity. A stopped member (503) still says why. */
export async function probe(endpoint: string, secret: string | undefined, timeoutMs = 3_000): Promise<Probe> {
  const out: Probe = { endpoint, status: null, info: null, error: null };
  const [status, info] = await Promise.allSettled([
    requestJson<StatusAnswer>(`${endpoint}/status`, { secret, timeoutMs }),
    requestJson<NodeInfo>(`${endpoint}/node`, { secret, timeoutMs }),
  ]);
  if (status.status === "fulfilled") out.status = status.value;
  else if (status.reason instanceof RequestError && status.reason.status === 503)
    out.status = status.reason.body as StatusAnswer;
  else out.error = (status.reason as Error).message;
  if (info.status === "fulfilled") out.info = info.value;
  return out;
}

/** The leader's app API URL, as the first answering endpoint sees it. Throws UNREACHABLE if none knows one. */
export async function findLeader(endpoints: string[], secret: string | undefined): Promise<string> {
  const probes = await Promise.all(endpoints.map((e) => probe(e, secret)));
  const lead = probes.find((p) => p.status?.role === "leader");
  if (lead) return lead.endpoint;
  const url = probes.find((p) => p.status?.leaderUrl)?.status?.leaderUrl;
  if (url) return url;
  if (probes.every((p) => p.status === null))
    throw new CliError(
      EXIT.UNREACHABLE,
      `no endpoint answered (${probes.map((p) => p.error).join("; ")}); check --endpoints, the secret, and that the members run`,
    );
  throw new CliError(
    EXIT.UNREACHABLE,
    "no member knows a leader: a majority of voters may be down or partitioned; start them, then retry",
  );
}

/** Runs `op` on the leader's app API (POST /cluster/<op>); throws FAILED with the API's message. */
export async function clusterOp(
  endpoints: string[],
  secret: string | undefined,
  op: "addLearner" | "addVoter" | "promote" | "remove" | "replace" | "transfer",
  body: { id: string; address?: string; newId?: string },
  timeoutMs: number,
): Promise<StatusAnswer> {
  const leader = await findLeader(endpoints, secret);
  const current = (await probe(leader, secret)).status;
  if (current) refuseImpossible(op, body.id, current.membership);
  try {
    const res = await requestJson<{ status: StatusAnswer }>(`${leader}/cluster/${op}`, {
      method: "POST",
      secret,
      body: { json: body },
      timeoutMs,
    });
    return res.status;
  } catch (e) {
    throw new CliError(
      EXIT.FAILED,
      `${op} ${body.id}${body.newId ? ` ${body.newId}` : ""} failed: ${(e as Error).message}`,
    );
  }
}

/** Refuses a change that the membership makes meaningless, before asking the cluster (which would, e.g., add an unknown id as a voter on promote). */
function refuseImpossible(op: string, id: string, m: StatusAnswer["membership"]): void {
  const voter = m.voters.includes(id) || m.votersOutgoing.includes(id);
  const learner = m.learners.includes(id) || m.learnersNext.includes(id);
  const problem =
    op === "addLearner" && (voter || learner)
      ? `${id} is already a ${voter ? "voter" : "learner"}`
      : op === "promote" && !learner
        ? `${id} is ${voter ? "already a voter" : "not a member"}: add it with add-learner first`
        : op === "remove" && !voter && !learner
          ? `${id} is not a member`
          : op === "transfer" && !voter
            ? `${id} is not a voter, so it cannot lead`
            : null;
  if (problem)
    throw new CliError(
      EXIT.REFUSED,
      `${op} ${id} refused: ${problem} (voters: ${m.voters.join(", ")}; learners: ${m.learners.join(", ") || "none"}). Nothing was changed.`,
    );
}
