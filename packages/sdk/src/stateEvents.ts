import { type Clock, systemClock } from "@raftkit/core";
import { type Observable, type Subscription, throttleTime } from "rxjs";
import { Slicer } from "./snapshot/slicer.js";
import { encodeInSlices } from "./snapshot/snapshotCodec.js";

/**
 * Sends the states of `states$` as server-sent `state` events, at most `perSecond` a second,
 * each encoded in slices (a large state would otherwise hold the event loop for its whole
 * superjson encoding, up to `perSecond` times a second per open dashboard). One encoding runs
 * at a time; states that arrive meanwhile are skipped but the latest, which goes next. An event
 * is written whole, in one turn, so other events never land inside it.
 */
export function streamStateEvents(
  states$: Observable<unknown>,
  perSecond: number,
  write: (chunk: string | Uint8Array) => void,
  clock: Pick<Clock, "setImmediate" | "monotonic"> = systemClock,
): Subscription {
  let latest: { state: unknown } | null = null;
  let encoding = false;
  let closed = false;
  const pump = async (): Promise<void> => {
    encoding = true;
    while (latest !== null && !closed) {
      const { state } = latest;
      latest = null;
      let pieces: Uint8Array[];
      try {
        pieces = await encodeInSlices(state, new Slicer(clock), "the state");
      } catch {
        continue; // not encodable: its snapshot fails too, and says why
      }
      if (closed) break;
      write("event: state\ndata: ");
      for (const p of pieces) write(p);
      write("\n\n");
    }
    encoding = false;
  };
  const sub = states$
    .pipe(throttleTime(1000 / perSecond, undefined, { leading: true, trailing: true }))
    .subscribe((state) => {
      latest = { state };
      if (!encoding) void pump();
    });
  sub.add(() => {
    closed = true;
  });
  return sub;
}
