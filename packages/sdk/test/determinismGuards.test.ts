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
      Array.prototype.slice,
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
      Array.prototype.slice,
    ]).toEqual(before);
    expect(Object.hasOwn(Array.prototype, "slice")).toBe(true);
    expect(Object.hasOwn(Math, "random")).toBe(true);
    expect(Object.hasOwn(performance, "now")).toBe(false);
    expect(typeof Date.now()).toBe("number");
    expect(() => withDeterminismGuards(() => Date.now())).toThrow(NondeterminismError);
  });

  it("slice() in reducers copies a frozen array as the real slice does (entries, holes, a new unfrozen array); anything else is the real slice", () => {
    const real = Array.prototype.slice;
    class Sub<T> extends Array<T> {}
    const sub = Object.freeze(Sub.from([1, 2]));
    // biome-ignore lint/suspicious/noSparseArray: the hole is what slice() must keep
    const holey = Object.freeze([1, , 3]);
    const frozen = Object.freeze([{ a: 1 }, "b", 3]);
    const unfrozen = [1, 2, 3];
    const arrayLike = { length: 2, 0: "x", 1: "y" };
    const cases = (): unknown[] => [
      Array.prototype.slice.call(frozen),
      Array.prototype.slice.call(holey),
      sub.slice(),
      frozen.slice(1),
      frozen.slice(0, -1),
      unfrozen.slice(),
      Array.prototype.slice.call(arrayLike),
    ];
    const expected = cases();
    const inReducer = withDeterminismGuards(() => {
      expect(Array.prototype.slice).not.toBe(real);
      return cases();
    });
    expect(inReducer).toEqual(expected);
    const [copy, holes, subCopy] = inReducer as [unknown[], unknown[], unknown[]];
    expect(copy).not.toBe(frozen);
    expect(copy[0]).toBe(frozen[0]);
    expect(Object.isFrozen(copy)).toBe(false);
    expect([holes.length, 1 in holes, holes[2]]).toEqual([3, false, 3]);
    expect(subCopy).toBeInstanceOf(Sub);
    expect(Array.prototype.slice).toBe(real);
  });

  it("a reducer changing one item of a large array in the state changes it, and only it", () => {
    const big = defineMachine({
      initial: () => ({ items: Array.from({ length: 5_000 }, (_, i) => ({ id: i, done: false })) }),
      commands: {
        finish(s, id: number) {
          s.items[id]!.done = true;
          s.items.push({ id: s.items.length, done: false });
        },
      },
    });
    const m = new ReplicatedMachine(big, 60_000);
    const before = m.state as { items: { id: number; done: boolean }[] };
    const e = commandEntries();
    m.applyNow([e("finish", 7), e("finish", 9)]);
    const after = m.state as typeof before;
    expect(after.items.length).toBe(5_002);
    expect(after.items.filter((x) => x.done).map((x) => x.id)).toEqual([7, 9]);
    expect(after.items[8]).toBe(before.items[8]);
    expect(before.items[7]!.done).toBe(false);
    expect(Object.isFrozen(after.items)).toBe(true);
  });
});
