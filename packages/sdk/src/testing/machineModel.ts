import { freeze } from "immer";
import { withDeterminismGuards } from "../determinismGuards.js";
import { operationFn } from "../operations.js";
import { entryRandom } from "../replicatedMachine.js";
import { runBatch } from "../runBatch.js";
import type { StoredResult } from "../session.js";
import { assertChangesEncodable } from "../stateChanges.js";
import type { AnyMachine, CommandContext } from "../types.js";
import { canonical, type EntryContext, type Outcome } from "./history.js";

/** A reducer ran twice from the same state with the same context and did not do the same. */
export class NondeterministicReducerError extends Error {
  constructor(name: string, arg: unknown, first: string, second: string) {
    super(
      `reducer "${name}" is not deterministic: run twice on the same state with argument ${canonical(arg)} ` +
        `and the same context, it gave\n    ${first}\n  then\n    ${second}`,
    );
    this.name = "NondeterministicReducerError";
  }
}

/** What the model's step produced: the new state and the outcome a client would see. */
export interface ModelStep {
  state: unknown;
  outcome: Outcome;
}

/**
 * The user's machine run one operation at a time, as the linearizability check's model: a
 * command runs through the SDK's own runBatch (one immer `produce`, a throw changes nothing,
 * the result detached from the draft) under the determinism guards, with the context of its
 * log entry; a query runs on the frozen state. Every command runs twice from the same state:
 * a difference throws {@link NondeterministicReducerError}.
 */
export class MachineModel {
  readonly #machine: AnyMachine;

  constructor(machine: AnyMachine) {
    this.#machine = machine;
  }

  initial(): unknown {
    return freeze(this.#machine.initial(), true);
  }

  command(state: unknown, name: string, arg: unknown, entry: EntryContext): ModelStep {
    const first = this.#run(state, name, arg, entry);
    const second = this.#run(state, name, arg, entry);
    const a = `${canonical(first.state)} → ${canonical(first.outcome)}`;
    const b = `${canonical(second.state)} → ${canonical(second.outcome)}`;
    if (a !== b) throw new NondeterministicReducerError(name, arg, a, b);
    return first;
  }

  query(state: unknown, name: string, arg: unknown): Outcome {
    const fn = operationFn(this.#machine.queries[name]) as (s: unknown, a: unknown) => unknown;
    try {
      return { ok: true, value: fn(state, arg) };
    } catch (e) {
      return { ok: false, error: errorName(e) };
    }
  }

  #run(state: unknown, name: string, arg: unknown, entry: EntryContext): ModelStep {
    const fn = operationFn(this.#machine.commands[name]) as (
      d: unknown,
      a: unknown,
      c: CommandContext,
    ) => unknown;
    const step = {
      run: (draft: unknown) => {
        const ctx: CommandContext = {
          index: entry.index,
          term: entry.term,
          time: new Date(entry.time.getTime()),
          random: entryRandom(entry.index, entry.term),
          // The simulated cluster never upgrades: it applies at version 1, as a new cluster does.
          version: 1,
        };
        const result = fn(draft, arg, ctx);
        assertChangesEncodable(draft, name);
        return result;
      },
    };
    const { state: next, results } = withDeterminismGuards(() => runBatch(state, [step]));
    return { state: next, outcome: toOutcome(results[0]!) };
  }
}

function toOutcome(r: StoredResult): Outcome {
  return r.ok ? { ok: true, value: r.value } : { ok: false, error: r.name };
}

function errorName(e: unknown): string {
  return e instanceof Error ? e.name : String(e);
}

/** Whether the cluster's answer `seen` is what the model computed (any answer fits an unknown outcome). */
export function sameOutcome(seen: Outcome, model: Outcome): boolean {
  if ("unknown" in seen) return true;
  return canonical(seen) === canonical(model);
}
