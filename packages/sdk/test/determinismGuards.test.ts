import { describe, expect, it } from "vitest";
import { defineMachine } from "../src/defineMachine.js";
import { NondeterminismError, withDeterminismGuards } from "../src/determinismGuards.js";
import { ReplicatedMachine } from "../src/replicatedMachine.js";
import { commandEntries } from "./commandEntries.js";

const sneaky = {
  "Date.now()": () => Date.now(),
  "new Date()": () => new Date(),
  "Date()": () => (Date as unknown as () => string)(),
  "Math.random()": () => Math.random(),
  "performance.now()": () => performance.now(),
  "crypto.randomUUID()": () => crypto.randomUUID(),
  "crypto.getRandomValues()": () => crypto.getRandomValues(new Uint8Array(4)),
  "setTimeout()": () => setTimeout(() => {}, 1),
  "setInterval()": () => setInterval(() => {}, 1),
  "setImmediate()": () => setImmediate(() => {}),
  "queueMicrotask()": () => queueMicrotask(() => {}),
} as const;

const machine = defineMachine({
  initial: () => ({ n: 0, at: [] as Date[] }),
  commands: {
    sneak(s, what: keyof typeof sneaky) {
      s.n += 1;
      return String(sneaky[what]());
    },
    stamp(s, _: undefined, ctx) {
      s.at.push(ctx.time, new Date(0), new Date("2020-01-01T00:00:00Z"));
      return s.at.length;
    },
  },
});

const entry = commandEntries();

describe("determinism guards while reducers run", () => {
  it("each clock, random source and timer throws NondeterminismError: the command fails, the state is unchanged", () => {
    const m = new ReplicatedMachine(machine, 60_000);
    const names = Object.keys(sneaky) as (keyof typeof sneaky)[];
    const outs = m.applyNow(names.map((what) => entry("sneak", what)));
    outs.forEach((o, k) => {
      expect(o.result, names[k]).toMatchObject({
        ok: false,
        name: "NondeterminismError",
        code: "NONDETERMINISM",
      });
      if (!o.result.ok) expect(o.result.message).toContain(`called ${names[k]!.replace("Date()", "Date")}`);
      if (!o.result.ok) expect(o.result.message).toContain("ctx.time");
    });
    expect((m.state as { n: number }).n).toBe(0);
  });

  it("dates from values and ctx.time still work inside reducers", () => {
    const m = new ReplicatedMachine(machine, 60_000);
    const [out] = m.applyNow([entry("stamp")]);
    expect(out!.result).toEqual({ ok: true, value: 3 });
    const at = (m.state as { at: Date[] }).at;
    expect(at.every((d) => d instanceof Date)).toBe(true);
    expect(at[1]!.getTime()).toBe(0);
  });

  it("puts back exactly what was there, also when the run throws", () => {
    const before = [
      Date,
      Date.now,
      Math.random,
      performance.now,
      crypto.randomUUID,
      setTimeout,
      queueMicrotask,
    ];
    expect(() =>
      withDeterminismGuards(() => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    withDeterminismGuards(() => 1);
    expect([
      Date,
      Date.now,
      Math.random,
      performance.now,
      crypto.randomUUID,
      setTimeout,
      queueMicrotask,
    ]).toEqual(before);
    expect(Object.hasOwn(Math, "random")).toBe(true);
    expect(Object.hasOwn(performance, "now")).toBe(false);
    expect(typeof Date.now()).toBe("number");
    expect(() => withDeterminismGuards(() => Date.now())).toThrow(NondeterminismError);
  });
});
