import { type ChaosRandom, checkMachine, MachineCheckError } from "@raftkit/sdk/testing";
import { describe, expect, it } from "vitest";
import { defineMachine } from "../../src/defineMachine.js";

/** Registers, with an optional broken `incr` that reads a module-level counter. */
function registers(o: { nondeterministic?: boolean } = {}) {
  let calls = 0;
  return defineMachine({
    initial: () => ({ kv: {} as Record<string, number> }),
    commands: {
      put(s, a: { key: string; value: number }) {
        s.kv[a.key] = a.value;
      },
      incr(s, key: string) {
        s.kv[key] = (s.kv[key] ?? 0) + (o.nondeterministic ? 1 + (calls++ % 2) : 1);
        return s.kv[key];
      },
    },
    queries: {
      get: (s, key: string) => s.kv[key] ?? null,
    },
  });
}

const key = (r: ChaosRandom) => r.pick(["a", "b"]);
const workload = {
  commands: {
    put: { arg: (r: ChaosRandom) => ({ key: key(r), value: r.int(100) }) },
    incr: { arg: key },
  },
  queries: { get: { weight: 2, arg: key } },
};

async function failure(run: Promise<unknown>): Promise<MachineCheckError> {
  const e = await run.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(MachineCheckError);
  return e as MachineCheckError;
}

describe("checkMachine", () => {
  it("passes a correct machine on 20 seeds of 3 nodes under every fault", { timeout: 60_000 }, async () => {
    const report = await checkMachine(registers(), { workload, seeds: 20 });
    expect(report.seeds).toHaveLength(20);
    expect(report.seeds.every((s) => s.operations === 30)).toBe(true);
  });

  it("catches a non-deterministic reducer, with the seed, a shrunk history and the replay call", {
    timeout: 60_000,
  }, async () => {
    const e = await failure(checkMachine(registers({ nondeterministic: true }), { workload, seeds: 5 }));
    expect(e.message).toMatch(/seed \d+ fails/);
    expect(e.message).toMatch(/not deterministic|replicas diverged/);
    expect(e.message).toContain(`seeds: [${e.seed}], operations: ${e.operations}`);
    expect(e.operations).toBeLessThan(30);
  });

  it("catches queries that read stale state (not linearizable), with a shrunk history", {
    timeout: 60_000,
  }, async () => {
    const e = await failure(
      checkMachine(registers(), { workload: { ...workload, consistency: "stale" }, seeds: 20, clients: 4 }),
    );
    expect(e.message).toContain("not linearizable");
    expect(e.message).toContain(`seeds: [${e.seed}]`);
    expect(e.history.length).toBeLessThan(30);
  });
});
