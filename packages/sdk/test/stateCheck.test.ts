import type { Entry } from "@raftkit/core";
import { describe, expect, it } from "vitest";
import { encodeValue } from "../src/codec.js";
import { type CommandPayload, STATE_CHECK } from "../src/commandLog.js";
import { defineMachine } from "../src/defineMachine.js";
import { ReplicatedMachine } from "../src/replicatedMachine.js";

const kv = defineMachine({
  initial: () => ({ data: new Map<string, string>() }),
  commands: {
    fill(s, n: number) {
      for (let i = 0; i < n; i++) s.data.set(`k${i}`, "v".repeat(64));
    },
    put(s, arg: { key: string; value: string }) {
      s.data.set(arg.key, arg.value);
    },
  },
  queries: {},
});

let index = 0;
function entry(name: string, arg: unknown): Entry {
  index++;
  const payload: CommandPayload = { name, arg, session: "s", seq: index, lowest: index, at: index };
  return { index, term: 1, type: "normal", data: encodeValue(payload, "a test command") };
}

describe("a state check entry", () => {
  it("hashes the state as of its index off the apply path: a large state is not encoded inside apply", async () => {
    const m = new ReplicatedMachine(kv, 60_000);
    m.applyNow([entry("fill", 20_000)]);
    const hashes: [number, string][] = [];
    m.onStateCheck = (i, hash) => hashes.push([i, hash]);
    const check = entry(STATE_CHECK, {});
    m.applyNow([check]);
    // Reported later, by a worker: the apply loop did not wait for ~1.5 MB of superjson.
    expect(hashes).toEqual([]);
    // Entries applied meanwhile do not reach the hash: the state was copied at the check.
    m.applyNow([entry("put", { key: "late", value: "x" })]);
    // A replica that applied the same log up to the check, and nothing after it, reports the same hash.
    const twin = new ReplicatedMachine(kv, 60_000);
    const twinHashes: [number, string][] = [];
    twin.onStateCheck = (i, hash) => twinHashes.push([i, hash]);
    index = 0;
    twin.applyNow([entry("fill", 20_000), entry(STATE_CHECK, {})]);
    const deadline = Date.now() + 30_000;
    while ((hashes.length === 0 || twinHashes.length === 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(hashes).toEqual(twinHashes);
    expect(hashes.map(([i]) => i)).toEqual([check.index]);
  });
});
