import { canonical, describeOp, type HistoryOp } from "./history.js";
import type { MachineModel } from "./machineModel.js";
import { sameOutcome } from "./machineModel.js";

/** The verdict on one history: linearizable, not, or not decided within the search budget. */
export type LinearizeResult =
  | { ok: true; explored: number }
  | { ok: false; reason: string; explored: number }
  | { ok: "inconclusive"; explored: number };

/**
 * Wing & Gong's search with Lowe's memo (the WGL algorithm, as `@raftkit/core/history` runs it
 * for key-value histories), with the user's machine as the model: repeatedly pick an operation
 * that no pending operation must precede (its call is before every unlinearized return), run
 * it on the model and keep going if the model's answer is the cluster's; backtrack otherwise.
 * A configuration (linearized set, model state) seen before is not explored again. Operations
 * with an unknown outcome may be linearized anywhere after their call, or never; the history
 * is linearizable once every operation with a known outcome is. A command with a known
 * outcome runs with the context of its log entry. Gives up after `budget` configurations.
 */
export function linearize(model: MachineModel, ops: readonly HistoryOp[], budget: number): LinearizeResult {
  const sorted = [...ops].sort((a, b) => a.call - b.call || a.id - b.id);
  const n = sorted.length;
  const done = new Array<boolean>(n).fill(false);
  const mustCount = sorted.filter((o) => !("unknown" in o.outcome)).length;
  const seen = new Set<string>();
  let explored = 0;
  let deepest = -1;
  let deepestState: unknown;
  let deepestDone: boolean[] = [];

  const search = (state: unknown, linearized: number): boolean | "budget" => {
    if (linearized === mustCount) return true;
    const key = `${done.map((d) => (d ? 1 : 0)).join("")}|${canonical(state)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    if (++explored > budget) return "budget";
    if (linearized > deepest) {
      deepest = linearized;
      deepestState = state;
      deepestDone = [...done];
    }
    let minRet = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) if (!done[i]) minRet = Math.min(minRet, sorted[i]!.ret);
    for (let i = 0; i < n; i++) {
      const op = sorted[i]!;
      if (done[i]) continue;
      if (op.call > minRet) break;
      const known = !("unknown" in op.outcome);
      let next = state;
      if (op.kind === "query") {
        if (!known) continue;
        if (!sameOutcome(op.outcome, model.query(state, op.name, op.arg))) continue;
      } else {
        // A command that never reached the log had no effect; one that did runs with its entry's context.
        if (!op.entry) continue;
        const step = model.command(state, op.name, op.arg, op.entry);
        if (!sameOutcome(op.outcome, step.outcome)) continue;
        next = step.state;
      }
      done[i] = true;
      const r = search(next, linearized + (known ? 1 : 0));
      done[i] = false;
      if (r !== false) return r;
    }
    return false;
  };

  const r = search(model.initial(), 0);
  if (r === true) return { ok: true, explored };
  if (r === "budget") return { ok: "inconclusive", explored };
  const stuck = sorted.filter(
    (o, i) => !deepestDone[i] && !("unknown" in o.outcome) && o.call <= firstReturn(sorted, deepestDone),
  );
  return {
    ok: false,
    explored,
    reason:
      `no order of the operations explains every answer. The longest explanation found covers ${deepest} ` +
      `operations and leaves the model at ${canonical(deepestState)}; none of these can come next:\n` +
      stuck.map((o) => `    ${describeOp(o)}`).join("\n"),
  };
}

function firstReturn(sorted: readonly HistoryOp[], done: readonly boolean[]): number {
  let min = Number.POSITIVE_INFINITY;
  sorted.forEach((o, i) => {
    if (!done[i]) min = Math.min(min, o.ret);
  });
  return min;
}
