import { describe, expect, it } from "vitest";
import { Inflights } from "../../src/tracker/inflights.js";

function filled(maxCount: number, maxBytes: number, indexes: number[], bytes = 10): Inflights {
  const f = new Inflights(maxCount, maxBytes);
  for (const i of indexes) f.add(i, bytes);
  return f;
}

describe("Inflights", () => {
  it("is full once it holds maxCount messages", () => {
    const f = filled(3, 0, [1, 2]);
    expect(f.full()).toBe(false);
    f.add(3, 10);
    expect(f.full()).toBe(true);
    expect([f.count, f.bytes]).toEqual([3, 30]);
  });

  it("refuses to add to a full window", () => {
    const f = filled(2, 0, [1, 2]);
    expect(() => f.add(3, 10)).toThrow();
    expect(f.count).toBe(2);
  });

  it("is full once the bytes in flight reach maxBytes", () => {
    const f = filled(10, 25, [1, 2]);
    expect(f.full()).toBe(false);
    f.add(3, 5);
    expect(f.full()).toBe(true);
    expect(f.bytes).toBe(25);
  });

  it("freeLE frees every message up to an index, with their bytes", () => {
    const f = filled(10, 0, [2, 4, 6, 8]);
    f.freeLE(5);
    expect([f.count, f.bytes]).toEqual([2, 20]);
    f.freeLE(5);
    expect(f.count).toBe(2);
    f.freeLE(1);
    expect(f.count).toBe(2);
    f.freeLE(8);
    expect([f.count, f.bytes]).toEqual([0, 0]);
  });

  it("keeps working when the ring buffer wraps around", () => {
    const f = filled(4, 0, [1, 2, 3, 4]);
    f.freeLE(2);
    f.add(5, 10);
    f.add(6, 10);
    expect(f.full()).toBe(true);
    f.freeLE(4);
    expect(f.count).toBe(2);
    f.freeLE(5);
    expect(f.count).toBe(1);
    f.add(7, 10);
    f.add(8, 10);
    f.add(9, 10);
    expect(f.full()).toBe(true);
    f.freeLE(8);
    expect([f.count, f.bytes]).toEqual([1, 10]);
    f.freeLE(9);
    expect(f.count).toBe(0);
  });

  it("freeFirst frees exactly the oldest message", () => {
    const f = filled(3, 0, [5, 6, 7]);
    f.freeFirst();
    expect([f.count, f.full()]).toEqual([2, false]);
    f.freeLE(6);
    expect(f.count).toBe(1);
    f.freeFirst();
    f.freeFirst();
    expect(f.count).toBe(0);
  });

  it("reset empties it", () => {
    const f = filled(3, 0, [1, 2, 3]);
    f.reset();
    expect([f.count, f.bytes, f.full()]).toEqual([0, 0, false]);
    f.add(10, 1);
    f.freeLE(10);
    expect(f.count).toBe(0);
  });
});
