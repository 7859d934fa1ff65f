import { produce } from "immer";
import { NondeterminismError } from "./determinismGuards.js";
import type { StoredResult } from "./session.js";
import { NotSerializableError, storableResult } from "./storableResult.js";

/** One reducer call: `run(draft)` applies it and returns its result. */
export interface BatchStep {
  run(draft: unknown): unknown;
  /**
   * Throws if the draft holds what this step must not leave in the state (see
   * assertChangesEncodable): a check of everything changed in the draft so far, so its cost
   * grows with the changes, not with this step. runBatch calls it once per draft, and step by
   * step only to find the step to blame.
   */
  check?(draft: unknown): void;
}

/** The steps as runBatch runs them to find which step a failed check blames: each checks right after it runs. */
const checkedOneByOne = (steps: readonly BatchStep[]): BatchStep[] =>
  steps.map((s) => ({
    run: (draft) => {
      const result = s.run(draft);
      s.check?.(draft);
      return result;
    },
  }));

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
 * The steps' checks run once per draft, after its steps. When one fails, the whole batch is
 * run again from `state` with each step checked right after it runs, so the failure goes to
 * the step that caused it, exactly as if each step had been checked alone (a check costs
 * what the draft changed so far: after every step, a batch of k steps would cost k² — and a
 * changed Set is walked whole — so that is kept for the rare batch that needs it).
 *
 * A result is stored detached from the drafts (see {@link storableResult}); a result that
 * cannot be encoded fails its step like a throw, with a `NOT_SERIALIZABLE` error result.
 */
export function runBatch(
  state: unknown,
  steps: readonly BatchStep[],
): { state: unknown; results: StoredResult[] } {
  const check = steps.find((s) => s.check !== undefined)?.check;
  if (check === undefined) return runSteps(state, steps, () => {});
  try {
    return runSteps(state, steps, (draft) => {
      try {
        check(draft);
      } catch {
        throw CHECK_FAILED;
      }
    });
  } catch (e) {
    if (e !== CHECK_FAILED) throw e;
    return runSteps(state, checkedOneByOne(steps), () => {});
  }
}

const CHECK_FAILED = Symbol("check failed");

/** runBatch's draft sharing; `checkDraft` runs inside each produce, after its steps. */
function runSteps(
  state: unknown,
  steps: readonly BatchStep[],
  checkDraft: (draft: unknown) => void,
): { state: unknown; results: StoredResult[] } {
  const results: StoredResult[] = [];
  let start = 0;
  while (start < steps.length) {
    let failedAt = -1;
    let failure: unknown;
    const attempt: StoredResult[] = [];
    try {
      // The recipe returns nothing: a reducer's return value is its result, never a replacement state.
      state = produce(state, (draft: unknown) => {
        for (let k = start; k < steps.length; k++) {
          try {
            attempt.push({ ok: true, value: storableResult(steps[k]!.run(draft)) });
          } catch (e) {
            failedAt = k;
            failure = e;
            throw ABORT;
          }
        }
        checkDraft(draft);
      });
      results.push(...attempt);
      return { state, results };
    } catch (e) {
      if (e !== ABORT) throw e;
    }
    if (failedAt > start) {
      const prefix: StoredResult[] = [];
      state = produce(state, (draft: unknown) => {
        for (let k = start; k < failedAt; k++) {
          prefix.push({ ok: true, value: storableResult(steps[k]!.run(draft)) });
        }
        checkDraft(draft);
      });
      results.push(...prefix);
    }
    results.push(errorResult(failure));
    start = failedAt + 1;
  }
  return { state, results };
}
