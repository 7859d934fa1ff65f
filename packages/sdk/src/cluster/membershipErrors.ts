import { RaftkitError } from "@raftkit/core";
import type { MembershipOperation, MembershipStep } from "./membershipProgress.js";

/** What a {@link MembershipStepError} says, as the app API sends it (`error.membership`). */
export interface MembershipStepFailure {
  operation: MembershipOperation;
  /** The call, e.g. `replace(n1 → n4)`. */
  call: string;
  /** The step that failed. */
  step: MembershipStep;
  /** The steps this call completed before it, in order. */
  done: MembershipStep[];
  /** Why the step failed. */
  reason: string;
}

/**
 * A membership operation (replace, a staged addVoter) stopped at `step` (code
 * MEMBERSHIP_INCOMPLETE): the steps in `done` took effect, and calling it again with the same
 * arguments looks at the membership and resumes from where it stopped. The app API answers it
 * with 409; createClient and the CLI turn that back into this error.
 */
export class MembershipStepError extends RaftkitError {
  readonly operation: MembershipOperation;
  /** The call, e.g. `replace(n1 → n4)`. */
  readonly call: string;
  readonly step: MembershipStep;
  readonly done: readonly MembershipStep[];
  readonly reason: string;
  override readonly cause: unknown;
  constructor(f: MembershipStepFailure, cause?: unknown) {
    const changed =
      f.done.length > 0
        ? `Done before it: ${f.done.join(", ")}.`
        : f.step === "readMembership"
          ? "Nothing was changed."
          : "No step of this call took effect before it.";
    super(
      "MEMBERSHIP_INCOMPLETE",
      `${f.call} failed at step "${f.step}": ${f.reason}. ${changed} Retry the same call: it resumes where it stopped.`,
    );
    this.operation = f.operation;
    this.call = f.call;
    this.step = f.step;
    this.done = [...f.done];
    this.reason = f.reason;
    this.cause = cause;
  }

  /** The failure as the app API sends it. */
  toWire(): MembershipStepFailure {
    return {
      operation: this.operation,
      call: this.call,
      step: this.step,
      done: [...this.done],
      reason: this.reason,
    };
  }
}

/**
 * A membership operation refused before changing anything (code MEMBERSHIP_REFUSED): the
 * current membership makes it meaningless or unsafe, e.g. replacing a node that is not a voter.
 * Retrying the same call fails the same way; `reason` says what to change. The app API answers
 * it with 409 (`error.refused` holds `call` and `reason`); createClient and the CLI turn that
 * back into this error.
 */
export class MembershipRefusedError extends RaftkitError {
  /** The call, e.g. `replace(n9 → n4)`. */
  readonly call: string;
  readonly reason: string;
  constructor(call: string, reason: string) {
    super("MEMBERSHIP_REFUSED", `${call} refused: ${reason}. Nothing was changed.`);
    this.call = call;
    this.reason = reason;
  }
}
