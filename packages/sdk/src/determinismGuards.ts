import { RaftkitError } from "@raftkit/core";
import { reducerSlice } from "./frozenArraySlice.js";

/**
 * A reducer read the clock, a random source or scheduled a timer. Every node would compute a
 * different state, so raftkit makes each of these throw while reducers run: the command fails
 * the same way on every node, and its state changes are dropped.
 */
export class NondeterminismError extends RaftkitError {
  constructor(what: string) {
    super(
      "NONDETERMINISM",
      `NONDETERMINISM: a reducer called ${what}, which would give each node a different state. ` +
        "Use ctx.time (the command's time, the same on every node) and ctx.random() (seeded from the entry) " +
        "instead, and do anything asynchronous before sending the command",
    );
  }
}

const refuse = (what: string) => () => {
  throw new NondeterminismError(what);
};

const RealDate = Date;
/** `Date` as reducers see it: a date from a value works, "now" throws. */
const GuardedDate: DateConstructor = new Proxy(RealDate, {
  construct(target, args, newTarget): object {
    if (args.length === 0) throw new NondeterminismError("new Date() (the current time)");
    return Reflect.construct(target, args, newTarget === GuardedDate ? target : newTarget);
  },
  apply() {
    throw new NondeterminismError("Date() (the current time)");
  },
  get(target, key, receiver) {
    if (key === "now") return guardedNow;
    return Reflect.get(target, key, receiver);
  },
});
const guardedNow = refuse("Date.now()");

/** One global property swapped while reducers run: where it lives, its name, its guard. */
interface Guard {
  owner: () => object | undefined;
  key: string;
  replacement: unknown;
}

const guards: Guard[] = [
  { owner: () => globalThis, key: "Date", replacement: GuardedDate },
  { owner: () => Math, key: "random", replacement: refuse("Math.random()") },
  { owner: () => globalThis.performance, key: "now", replacement: refuse("performance.now()") },
  { owner: () => globalThis.crypto, key: "randomUUID", replacement: refuse("crypto.randomUUID()") },
  { owner: () => globalThis.crypto, key: "getRandomValues", replacement: refuse("crypto.getRandomValues()") },
  { owner: () => globalThis, key: "setTimeout", replacement: refuse("setTimeout()") },
  { owner: () => globalThis, key: "setInterval", replacement: refuse("setInterval()") },
  { owner: () => globalThis, key: "setImmediate", replacement: refuse("setImmediate()") },
  { owner: () => globalThis, key: "queueMicrotask", replacement: refuse("queueMicrotask()") },
  // Not a refusal: the same copy, made faster, for immer's copies of frozen arrays.
  { owner: () => Array.prototype, key: "slice", replacement: reducerSlice },
];

/**
 * Runs `run` (synchronous: the reducers of a batch) with the clock, randomness and timers
 * replaced by functions that throw {@link NondeterminismError}, and `Array.prototype.slice` by
 * {@link reducerSlice}, and puts back exactly what was there (own property or inherited, fake
 * timers included) in all cases.
 *
 * Invariant: nothing in `run` other than user reducers may need the guarded globals; raftkit's
 * own code there builds dates from values only (`new Date(ms)`), and immer and superjson use none.
 * NB: modules imported directly (`import { randomUUID } from "node:crypto"`) are not covered.
 */
export function withDeterminismGuards<T>(run: () => T): T {
  const saved: [owner: Record<string, unknown>, key: string, own: boolean, previous: unknown][] = [];
  try {
    for (const g of guards) {
      const owner = g.owner() as Record<string, unknown> | undefined;
      if (owner === undefined) continue;
      saved.push([owner, g.key, Object.hasOwn(owner, g.key), owner[g.key]]);
      owner[g.key] = g.replacement;
    }
    return run();
  } finally {
    for (let i = saved.length - 1; i >= 0; i--) {
      const [owner, key, own, previous] = saved[i]!;
      if (own) owner[key] = previous;
      else delete owner[key];
    }
  }
}
