import { type Clock, type NodeStatus, StoppedError, TimeoutError } from "@raftkit/core";
import type { Observable } from "rxjs";

/**
 * A read token: the log index of a command's entry (from a command's answer), or the commit
 * index of the node that served a read (an upper bound of the state it read: the applied index
 * it publishes lags the state by up to one batch). A `"session"` query given a token is served by any
 * node once it has applied that index, so it observes the command (read-your-writes) and
 * everything the earlier read observed (monotonic reads).
 *
 * Treat it as opaque: keep the highest one you have seen ({@link laterToken}), and pass it
 * back as `after`. It is a plain JSON number, so it survives a round trip through a browser;
 * a node checks every token it receives (checkQueryOptions).
 *
 * Invariant: a committed index never changes its entry, so any node that applied index `t`
 * applied the very entry that produced token `t`.
 */
export type ReadToken = number;

/** A result together with the read token that came with it. */
export interface WithToken<T> {
  readonly result: T;
  readonly token: ReadToken;
}

/** Whether `v` is a well-formed read token: a non-negative safe integer. */
export function isReadToken(v: unknown): v is ReadToken {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** The later of two tokens; `undefined` counts as none. */
export function laterToken(a: ReadToken | undefined, b: ReadToken | undefined): ReadToken | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

/**
 * Resolves with the applied index once the node whose status `status$` reports has applied
 * `index`. Rejects with {@link TimeoutError} after `timeoutMs`, and with {@link StoppedError}
 * as soon as the node stops (its state then no longer follows the cluster).
 */
export function waitApplied(
  nodeId: string,
  status$: Observable<NodeStatus>,
  index: number,
  timeoutMs: number,
  clock: Clock,
): Promise<number> {
  const what = `the session read after index ${index}`;
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (f: () => void): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      queueMicrotask(() => sub?.unsubscribe());
      f();
    };
    const timer = clock.setTimeout(
      () => finish(() => reject(new TimeoutError(nodeId, what, timeoutMs, false))),
      timeoutMs,
    );
    const sub = status$.subscribe({
      next: (s) => {
        if (s.stopped) finish(() => reject(new StoppedError(nodeId, what, s.stoppedReason)));
        else if (s.applied >= index) finish(() => resolve(s.applied));
      },
      complete: () => finish(() => reject(new StoppedError(nodeId, what))),
    });
  });
}
