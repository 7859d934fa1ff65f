import type { AnyMachine, ArgsOf, Consistency } from "../types.js";

/** The seeded random source a workload's argument generators draw from: the same seed gives the same arguments. */
export interface ChaosRandom {
  /** A number in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One of `items`, uniformly. */
  pick<T>(items: readonly T[]): T;
}

/** The argument a caller passes to operation `F` (undefined for one that takes none). */
export type ArgOf<F> = ArgsOf<F> extends [] ? undefined : ArgsOf<F>[0];

/** How often one operation runs, and how its argument is drawn. */
export interface OperationSpec<TArg> {
  /** Relative weight among the workload's operations. Default 1. */
  weight?: number;
  /** Draws an argument; omitted for an operation that takes none. */
  arg?: (random: ChaosRandom) => TArg;
}

/**
 * What the simulated clients run: some of the machine's commands and queries, each with a
 * weight and an argument generator. Operations left out are never called.
 */
export interface Workload<M extends AnyMachine> {
  commands?: { [K in keyof M["commands"] & string]?: OperationSpec<ArgOf<M["commands"][K]>> };
  queries?: { [K in keyof M["queries"] & string]?: OperationSpec<ArgOf<M["queries"][K]>> };
  /** How the clients' queries read. Default "linearizable"; "stale" or "lease" to see what they allow. */
  consistency?: Consistency;
}

/** One operation drawn from a workload. */
export interface DrawnOperation {
  kind: "command" | "query";
  name: string;
  arg: unknown;
}

/** Draws operations from a workload by weight. Throws a TypeError for an empty workload. */
export function operationDrawer<M extends AnyMachine>(
  workload: Workload<M>,
): (r: ChaosRandom) => DrawnOperation {
  const specs: {
    kind: "command" | "query";
    name: string;
    weight: number;
    arg?: (r: ChaosRandom) => unknown;
  }[] = [];
  for (const kind of ["command", "query"] as const) {
    const group = (kind === "command" ? workload.commands : workload.queries) ?? {};
    for (const [name, spec] of Object.entries(group) as [string, OperationSpec<unknown> | undefined][]) {
      const weight = spec?.weight ?? 1;
      if (!(weight > 0)) continue;
      specs.push({ kind, name, weight, ...(spec?.arg ? { arg: spec.arg } : {}) });
    }
  }
  const total = specs.reduce((t, s) => t + s.weight, 0);
  if (specs.length === 0) throw new TypeError("checkMachine: the workload names no command or query to run");
  return (r) => {
    let x = r.next() * total;
    let s = specs[specs.length - 1]!;
    for (const c of specs) {
      if (x < c.weight) {
        s = c;
        break;
      }
      x -= c.weight;
    }
    return { kind: s.kind, name: s.name, arg: s.arg ? s.arg(r) : undefined };
  };
}
