import type { Entry } from "@raftkit/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { encodeValue } from "../src/codec.js";
import { defineMachine } from "../src/defineMachine.js";
import { type CommandPayload, ReplicatedMachine } from "../src/replicatedMachine.js";

const tags = defineMachine({
  initial: () => ({ tags: new Set<string>() }),
  commands: {
    tag(s, t: string) {
      s.tags.add(t);
    },
  },
  queries: {},
});

let index = 0;
function entry(arg: string): Entry {
  index++;
  const payload: CommandPayload = { name: "tag", arg, session: `s${index}`, seq: 1, lowest: 1, at: index };
  return { index, term: 1, type: "normal", data: encodeValue(payload, "a test command") };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the cost of applying a batch", () => {
  it("checks the batch's changes once, not after every command: a changed 5,000-member Set is walked once, not 50 times", () => {
    const m = new ReplicatedMachine(tags, 60_000);
    m.apply(Array.from({ length: 5_000 }, (_, i) => entry(`t${i}`)));
    const iterate = Set.prototype[Symbol.iterator];
    let walks = 0;
    vi.spyOn(Set.prototype, Symbol.iterator).mockImplementation(function (this: Set<unknown>) {
      if (this.size >= 5_000) walks++;
      return iterate.call(this);
    });
    const outs = m.apply(Array.from({ length: 50 }, (_, i) => entry(`new${i}`)));
    expect(outs.every((o) => o.result.ok)).toBe(true);
    expect((m.state as { tags: Set<string> }).tags.size).toBe(5_050);
    expect(walks).toBeLessThanOrEqual(2);
  });
});
