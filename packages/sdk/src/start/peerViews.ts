import { getJson } from "./getJson.js";
import { LostDataError } from "./startErrors.js";

/**
 * Asks the initial members whether `id` has run before; throws {@link LostDataError} if one
 * says so. Each question is bounded by `timeoutMs`: a peer that is down, refuses, resets the
 * connection or never answers cannot tell, and the reachable ones decide.
 */
export async function refuseIfLostData(
  id: string,
  peers: Record<string, string>,
  apiPath: string,
  apiSecret: string | null,
  timeoutMs = 2_000,
): Promise<void> {
  const headers: Record<string, string> = apiSecret ? { authorization: `Bearer ${apiSecret}` } : {};
  await Promise.all(
    Object.entries(peers)
      .filter(([peer]) => peer !== id)
      .map(async ([peer, base]) => {
        const body = (await getJson(`${base.replace(/\/$/, "")}${apiPath}/members`, headers, timeoutMs)) as {
          published?: Record<string, unknown>;
        } | null;
        const members = body?.published;
        if (members && typeof members === "object" && Object.hasOwn(members, id))
          throw new LostDataError(id, peer);
      }),
  );
}
