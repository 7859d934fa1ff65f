import type { ConfState } from "@raftkit/core";
import type { PeerView } from "./firstStart.js";
import { getJson } from "./getJson.js";

/**
 * Asks every other initial member for its view (`GET <apiPath>/members`): its configuration and
 * which members announced having run. Each question is bounded by `timeoutMs`: a peer that is
 * down, still starting, refuses, resets the connection or never answers cannot tell, and is
 * left out.
 */
export async function askPeers(
  id: string,
  peers: Record<string, string>,
  apiPath: string,
  apiSecret: string | null,
  timeoutMs = 2_000,
): Promise<PeerView[]> {
  const headers: Record<string, string> = apiSecret ? { authorization: `Bearer ${apiSecret}` } : {};
  const views = await Promise.all(
    Object.entries(peers)
      .filter(([peer]) => peer !== id)
      .map(async ([peer, base]): Promise<PeerView | null> => {
        const body = (await getJson(`${base.replace(/\/$/, "")}${apiPath}/members`, headers, timeoutMs)) as {
          membership?: Partial<ConfState>;
          published?: Record<string, unknown>;
          initialMembers?: unknown;
        } | null;
        if (!body || typeof body !== "object") return null;
        const m = body.membership ?? {};
        const ids = (x: unknown): string[] =>
          Array.isArray(x) ? x.filter((s) => typeof s === "string") : [];
        const published = body.published && typeof body.published === "object" ? body.published : {};
        return {
          peer,
          membership: {
            voters: ids(m.voters),
            learners: ids(m.learners),
            votersOutgoing: ids(m.votersOutgoing),
            learnersNext: ids(m.learnersNext),
            autoLeave: m.autoLeave === true,
          },
          published,
          ...(Array.isArray(body.initialMembers) && { initialMembers: ids(body.initialMembers) }),
        };
      }),
  );
  return views.filter((v): v is PeerView => v !== null);
}
