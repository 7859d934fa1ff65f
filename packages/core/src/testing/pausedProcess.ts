import { type Clock, systemClock } from "../node/clock.js";
import type { Transport, TransportHandler } from "../node/transport.js";
import type { Message, NodeId } from "../raft/types.js";

/**
 * Models a process stopped with SIGSTOP and resumed with SIGCONT, for one node among others
 * in the same test: while paused its timers, immediates and network traffic wait; monotonic
 * time keeps counting (as the OS clock does). On {@link resume}, what waited runs a macrotask
 * later, as after a real SIGCONT, and an interval fires once, without catching up.
 */
export class PausedProcess {
  #paused = false;
  #deferred: (() => void)[] = [];
  readonly #base: Clock;
  readonly clock: Clock;

  constructor(base: Clock = systemClock) {
    this.#base = base;
    const run = (fn: () => void) => () => {
      if (this.#paused) this.#deferred.push(fn);
      else fn();
    };
    this.clock = {
      now: () => base.now(),
      monotonic: () => base.monotonic(),
      setTimeout: (fn, ms) => base.setTimeout(run(fn), ms),
      clearTimeout: (h) => base.clearTimeout(h),
      setInterval: (fn, ms) => {
        let owed = false;
        return base.setInterval(() => {
          if (!this.#paused) return fn();
          if (owed) return;
          owed = true;
          this.#deferred.push(() => {
            owed = false;
            fn();
          });
        }, ms);
      },
      clearInterval: (h) => base.clearInterval(h),
      setImmediate: (fn) => base.setImmediate(run(fn)),
    };
  }

  get paused(): boolean {
    return this.#paused;
  }

  pause(): void {
    this.#paused = true;
  }

  /** Resumes; what waited runs from the next macrotask on, so code called right now runs first. */
  resume(): void {
    this.#paused = false;
    const due = this.#deferred;
    this.#deferred = [];
    this.#base.setTimeout(() => {
      for (const fn of due) fn();
    }, 0);
  }

  /** Wraps `inner` so that while paused nothing is received or sent (both wait for resume). */
  transport(inner: Transport): Transport {
    const hold =
      <A extends unknown[]>(fn: (...a: A) => void) =>
      (...a: A) => {
        if (this.#paused) this.#deferred.push(() => fn(...a));
        else fn(...a);
      };
    return {
      start: (handler: TransportHandler) =>
        inner.start({
          receive: hold((msgs: Message[]) => handler.receive(msgs)),
          reportUnreachable: hold((id: NodeId) => handler.reportUnreachable(id)),
          reportSnapshot: hold((id: NodeId, ok: boolean) => handler.reportSnapshot(id, ok)),
        }),
      send: hold((msgs: readonly Message[]) => inner.send(msgs)),
      addPeer: (id, url) => inner.addPeer(id, url),
      removePeer: (id) => inner.removePeer(id),
      stop: () => inner.stop(),
    };
  }
}
