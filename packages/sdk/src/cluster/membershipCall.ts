import { ApiError } from "../apiError.js";
import { type MembershipStreamLine, PROGRESS_MEDIA_TYPE } from "../clusterRoutes.js";
import type { ApiErrorBody } from "../wire.js";
import { MembershipRefusedError, MembershipStepError } from "./membershipErrors.js";
import type { MembershipProgress } from "./membershipProgress.js";

/**
 * The error an app API error answer stands for: a {@link MembershipStepError} for
 * MEMBERSHIP_INCOMPLETE, a {@link MembershipRefusedError} for MEMBERSHIP_REFUSED, else an ApiError.
 */
export function errorFromApi(status: number, error: ApiErrorBody["error"]): Error {
  if (error.code === "MEMBERSHIP_INCOMPLETE" && error.membership)
    return new MembershipStepError(error.membership);
  if (error.code === "MEMBERSHIP_REFUSED" && error.refused)
    return new MembershipRefusedError(error.refused.call, error.refused.reason);
  return new ApiError(status, error);
}

export interface MembershipCallOptions {
  headers?: Record<string, string>;
  onProgress?: ((p: MembershipProgress) => void) | undefined;
  /** Deadline of the whole call, in ms. */
  timeoutMs: number;
}

/**
 * POSTs a stepped membership call (`<api>/cluster/replace` or `/cluster/addVoter`), streaming
 * its steps to `onProgress`. Resolves with the answering node's status; rejects with
 * {@link MembershipStepError} when it stopped part-way, or ApiError for any other refusal.
 */
export async function runMembershipCall(
  url: string,
  body: { id: string; address: string; newId?: string; maxLagEntries?: number; catchUpTimeoutMs?: number },
  o: MembershipCallOptions,
): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { ...o.headers, "content-type": "application/json", accept: PROGRESS_MEDIA_TYPE },
    body: JSON.stringify({ json: body }),
    signal: AbortSignal.timeout(o.timeoutMs),
  });
  const text = (res.headers.get("content-type") ?? "").startsWith(PROGRESS_MEDIA_TYPE)
    ? null
    : await res.text();
  if (text !== null) {
    const answer = parseJson(text) as { status?: unknown } & Partial<ApiErrorBody>;
    if (res.ok) return answer.status;
    throw errorFromApi(
      res.status,
      answer.error ?? { code: "INTERNAL", message: `HTTP ${res.status}: ${text.slice(0, 200)}` },
    );
  }
  for await (const l of lines(res.body!)) {
    const line = parseJson(l) as MembershipStreamLine;
    if ("progress" in line) o.onProgress?.(line.progress);
    else if ("ok" in line) return line.status;
    else throw errorFromApi(line.httpStatus, line.error);
  }
  throw new Error(
    `${url}: the answer ended before the outcome (the node may have stopped): retry the same call`,
  );
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return { error: { code: "INTERNAL", message: `not JSON: ${text.slice(0, 200)}` } };
  }
};

async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      const l = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (l) yield l;
      nl = buffered.indexOf("\n");
    }
  }
  if (buffered.trim()) yield buffered.trim();
}
