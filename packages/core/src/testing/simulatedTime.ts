import { vi } from "vitest";

/**
 * Switches the current test to vitest's fake timers, including `setImmediate` and `Date`, so a
 * RaftNode's ticks, timeouts and scheduling run in simulated time. Pair with `vi.useRealTimers()`.
 */
export function useSimulatedTime(): void {
  vi.useFakeTimers({
    toFake: [
      "setTimeout",
      "clearTimeout",
      "setInterval",
      "clearInterval",
      "setImmediate",
      "clearImmediate",
      "Date",
      "performance",
    ],
  });
}

/** Advances simulated time in 5 ms steps until `cond` holds; throws after `maxMs` naming `what`. */
export async function advanceUntil(cond: () => boolean, maxMs = 5_000, what = "condition"): Promise<void> {
  for (let t = 0; t <= maxMs; t += 5) {
    if (cond()) return;
    await vi.advanceTimersByTimeAsync(5);
  }
  throw new Error(`${what} did not hold within ${maxMs} ms of simulated time`);
}

/** Lets simulated time run until `p` settles; returns its value or throws its error. */
export async function settleInSimulatedTime<T>(p: Promise<T>, maxMs = 5_000): Promise<T> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | null = null;
  p.then(
    (value) => {
      outcome = { ok: true, value };
    },
    (error: unknown) => {
      outcome = { ok: false, error };
    },
  );
  await advanceUntil(() => outcome !== null, maxMs, "promise");
  const o = outcome as unknown as { ok: true; value: T } | { ok: false; error: unknown };
  if (!o.ok) throw o.error;
  return o.value;
}
