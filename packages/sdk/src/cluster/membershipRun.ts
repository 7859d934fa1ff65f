import { MembershipStepError } from "./membershipErrors.js";
import type { MembershipOperation, MembershipProgress, MembershipStep } from "./membershipProgress.js";

/** One call of a stepped membership operation: reports each step, and names the failed one and those done. */
export interface MembershipRun {
  readonly operation: MembershipOperation;
  /** The call, e.g. `replace(n1 → n4)`. */
  readonly call: string;
  /** Runs `f` as step `name`: reported as it starts, recorded as done once it resolves. */
  step<T>(name: MembershipStep, f: () => Promise<T>): Promise<T>;
  /** The failure of step `name`, with the steps done so far. */
  failure(name: MembershipStep, reason: string, cause?: unknown): MembershipStepError;
  /** Reports the operation done. */
  finish(): void;
  /** The progress callback, for a learner's progress while it catches up. */
  report(p: MembershipProgress): void;
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function startRun(
  operation: MembershipOperation,
  call: string,
  onProgress: ((p: MembershipProgress) => void) | undefined,
): MembershipRun {
  const done: MembershipStep[] = [];
  const report = (p: MembershipProgress): void => onProgress?.(p);
  const failure = (name: MembershipStep, reason: string, cause?: unknown): MembershipStepError =>
    new MembershipStepError({ operation, call, step: name, done, reason }, cause);
  return {
    operation,
    call,
    report,
    failure,
    async step(name, f) {
      report({ step: name, phase: "start" });
      try {
        const out = await f();
        done.push(name);
        return out;
      } catch (e) {
        throw e instanceof MembershipStepError ? e : failure(name, messageOf(e), e);
      }
    },
    finish: () => report({ step: "done", phase: "done" }),
  };
}
