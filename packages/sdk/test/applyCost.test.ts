import type { Entry } from "@raftkit/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { encodeValue } from "../src/codec.js";
import type { CommandPayload } from "../src/commandLog.js";
import { defineMachine } from "../src/defineMachine.js";
import { ReplicatedMachine } from "../src/replicatedMachine.js";

const kv = defineMachine({
  initial: () => ({ data: new Map<string, unknown>() }),
  commands: {
    put(s, arg: { key: string; value: unknown }) {
      s.data.set(arg.key, arg.value);
      return s.data.size;
    },
    putFunction(s, key: string) {
      s.data.set(key, () => 0);
    },
  },
  queries: {},
});

let index = 0;
function entry(key: string, value: unknown = "v", name = "put"): Entry {
  index++;
  const payload: CommandPayload = {
    name,
    arg: name === "put" ? { key, value } : key,
    session: `s${index}`,
    seq: 1,
    lowest: 1,
    at: index,
  };
  return { index, term: 1, type: "normal", data: encodeValue(payload, "a test command") };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("applying a long batch (a follower catching up)", () => {
  it("checks each reducer's changes against a bounded draft: 4,000 puts read the draft's changes far fewer than 4,000²/2 times", () => {
    const m = new ReplicatedMachine(kv, 60_000);
    const batch = Array.from({ length: 4_000 }, (_, i) => entry(`k${i}`));
    const iterate = Map.prototype[Symbol.iterator];
    let steps = 0;
    vi.spyOn(Map.prototype, Symbol.iterator).mockImplementation(function (this: Map<unknown, unknown>) {
      const it = iterate.call(this);
      const next = it.next.bind(it);
      it.next = () => {
        steps++;
        return next();
      };
      return it;
    });
    const outs = m.applyNow(batch);
    vi.restoreAllMocks();
    expect(outs.every((o) => o.result.ok)).toBe(true);
    expect((m.state as { data: Map<string, unknown> }).data.size).toBe(4_000);
    // One draft for all: ~8,000,000 (each check reads every key assigned so far); 256 a draft: ~520,000.
    expect(steps).toBeLessThan(1_000_000);
  });

  it("gives the outcomes of applying its commands one by one, across drafts", () => {
    const log = Array.from({ length: 700 }, (_, i) =>
      i % 97 === 5 ? entry(`bad${i}`, undefined, "putFunction") : entry(`k${i % 300}`, i),
    );
    const together = new ReplicatedMachine(kv, 60_000);
    const alone = new ReplicatedMachine(kv, 60_000);
    const a = together.applyNow(log).map((o) => o.result.ok);
    const b = log.map((e) => alone.applyNow([e])[0]!.result.ok);
    expect(a).toEqual(b);
    expect(a.filter((ok) => !ok)).toHaveLength(8);
    expect(together.state).toEqual(alone.state);
  });
});
