import { NondeterminismError } from "./determinismGuards.js";
import { drafts } from "./drafts.js";
import type { StoredResult } from "./session.js";
import { NotSerializableError, storableResult } from "./storableResult.js";

/** One reducer call: `run(draft)` applies it and returns its result. */
export interface BatchStep {
  run(draft: unknown): unknown;
}

const ABORT = Symbol("abort batch");

function errorResult(e: unknown): StoredResult {
  if (e instanceof NotSerializableError) return { ok: false, name: e.name, message: e.message, code: e.code };
  if (e instanceof NondeterminismError)
    return { ok: false, name: e.name, message: e.message, code: "NONDETERMINISM" };
  const err = e instanceof Error ? e : new Error(String(e));
  return { ok: false, name: err.name, message: err.message };
}

/**
 * Applies reducer steps in order with the outcome of one `produce` per step — a step that
 * throws changes nothing, later steps see the effects of earlier ones — but with as few
 * `produce` calls as possible: immer's cost is proportional to the size of what a draft
 * touched (a 10,000-entry Map costs ~1 ms to finalize), so all steps share one draft. When a
 * step throws, that draft is discarded, the steps before it are re-run in one draft, the
 * failing one gets its error, and the rest continue in a new draft. Reducers are
 * deterministic, so a re-run gives the same state and results.
 *
 * A result is stored detached from the drafts (see {@link storableResult}); a result that
 * cannot be encoded fails its step like a throw, with a `NOT_SERIALIZABLE` error result.
 */
export function runBatch(
  state: unknown,
  steps: readonly BatchStep[],
): { state: unknown; results: StoredResult[] } {
  const results: StoredResult[] = [];
  let start = 0;
  while (start < steps.length) {
    let failedAt = -1;
    let failure: unknown;
    const attempt: StoredResult[] = [];
    try {
      // The recipe returns nothing: a reducer's return value is its result, never a replacement state.
      state = drafts.produce(state, (draft: unknown) => {
        for (let k = start; k < steps.length; k++) {
          try {
            attempt.push({ ok: true, value: storableResult(steps[k]!.run(draft)) });
          } catch (e) {
            failedAt = k;
            failure = e;
            throw ABORT;
          }
        }
      });
      results.push(...attempt);
      return { state, results };
    } catch (e) {
      if (e !== ABORT) throw e;
    }
    if (failedAt > start) {
      const prefix: StoredResult[] = [];
      state = drafts.produce(state, (draft: unknown) => {
        for (let k = start; k < failedAt; k++) {
          prefix.push({ ok: true, value: storableResult(steps[k]!.run(draft)) });
        }
      });
      results.push(...prefix);
    }
    results.push(errorResult(failure));
    start = failedAt + 1;
  }
  return { state, results };
}
