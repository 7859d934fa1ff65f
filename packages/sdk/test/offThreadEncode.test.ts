import { describe, expect, it } from "vitest";
import { encodeValue } from "../src/codec.js";
import { DecodeError } from "../src/errors.js";
import { encodeValueOffThread } from "../src/offThreadEncode.js";

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/** About `mb` megabytes of state: a Map of 128-byte strings, with a Date, a Set and a BigInt inside. */
function bigState(mb: number): unknown {
  const n = Math.round((mb * 1024 * 1024) / 144);
  const data = new Map<string, unknown>();
  for (let i = 0; i < n; i++) data.set(`k${i}`, `${i}`.padEnd(128, "v"));
  return {
    data,
    at: new Date(0),
    tags: new Set(["a", 1n]),
    nothing: undefined,
    nested: [{ x: -0, y: Number.NaN }],
  };
}

describe("encodeValueOffThread", () => {
  it("gives the same bytes as encodeValue, for small values and for large ones (encoded by a worker)", {
    timeout: 30_000,
  }, async () => {
    const small = { a: 1, b: new Map([["x", new Date(5)]]) };
    expect(Buffer.from(await encodeValueOffThread(small, "small"))).toEqual(
      Buffer.from(encodeValue(small, "small")),
    );
    const big = bigState(3);
    expect(same(await encodeValueOffThread(big, "big"), encodeValue(big, "big"))).toBe(true);
  });

  it("encodes the value as it was when called, not as it is changed afterwards", {
    timeout: 30_000,
  }, async () => {
    const state = bigState(1) as { data: Map<string, unknown> };
    const expected = Buffer.from(encodeValue(state, "state"));
    const pending = encodeValueOffThread(state, "state");
    state.data.set("k0", "changed after the call");
    expect(same(await pending, expected)).toBe(true);
  });

  it("keeps today's errors for what superjson cannot carry, even in a large value", async () => {
    const state = bigState(1) as { data: Map<string, unknown> };
    state.data.set("bad", new (class Thing {})());
    await expect(encodeValueOffThread(state, "the machine's state")).rejects.toBeInstanceOf(DecodeError);
  });

  it("blocks the event loop far less than encoding inline (12 MB; a generous bound for a busy machine)", async () => {
    const big = bigState(12);
    encodeValue({ warm: [1] }, "warm");
    let t = performance.now();
    encodeValue(big, "inline");
    const inline = performance.now() - t;
    t = performance.now();
    const pending = encodeValueOffThread(big, "off thread");
    const blocked = performance.now() - t;
    await pending;
    expect(blocked).toBeLessThan(Math.max(250, inline / 3));
  }, 30_000);
});
