import { Subject } from "rxjs";
import superjson from "superjson";
import { describe, expect, it } from "vitest";
import { streamStateEvents } from "../src/stateEvents.js";
import { bigState } from "./snapshot/values.js";

const until = async (ok: () => boolean): Promise<void> => {
  for (let i = 0; i < 2_000 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(ok()).toBe(true);
};

describe("state events", () => {
  it("are superjson's text of the state, whole, the latest one sent after the one being encoded", async () => {
    const states = new Subject<unknown>();
    const written: string[] = [];
    const sub = streamStateEvents(states, 1_000, (chunk) => written.push(Buffer.from(chunk).toString()));
    const big = bigState(2);
    states.next(big);
    // While the large one is being encoded: two more; only the latest follows it.
    states.next({ n: 1 });
    await new Promise((r) => setTimeout(r, 5));
    states.next({ n: 2, at: new Date(3) });
    await until(() => written.join("").endsWith(`${superjson.stringify({ n: 2, at: new Date(3) })}\n\n`));
    const events = written.join("").split("\n\n").filter(Boolean);
    expect(events[0]).toBe(`event: state\ndata: ${superjson.stringify(big)}`);
    expect(events.at(-1)).toBe(`event: state\ndata: ${superjson.stringify({ n: 2, at: new Date(3) })}`);
    expect(events.length).toBeLessThanOrEqual(3);
    sub.unsubscribe();
  }, 30_000);

  it("encode a large state without holding the event loop (a timer keeps firing until it is written)", async () => {
    const states = new Subject<unknown>();
    let fired = 0;
    let firedWhenWritten = -1;
    const timer = setInterval(() => fired++, 1);
    const sub = streamStateEvents(states, 10, () => {
      if (firedWhenWritten < 0) firedWhenWritten = fired;
    });
    try {
      states.next(bigState(6));
      await until(() => firedWhenWritten >= 0);
      expect(firedWhenWritten).toBeGreaterThanOrEqual(3);
    } finally {
      clearInterval(timer);
      sub.unsubscribe();
    }
  }, 30_000);
});
