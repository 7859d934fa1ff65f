import { describe, expect, it } from "vitest";
import {
  checkLinearizable,
  historyToJsonLines,
  type Operation,
  parseHistory,
} from "../../src/history/index.js";

const put = (client: number, value: number, call: number, ret: number, key = "x"): Operation => ({
  client,
  op: "put",
  key,
  value,
  call,
  return: ret,
});
const get = (client: number, output: number | null, call: number, ret: number, key = "x"): Operation => ({
  client,
  op: "get",
  key,
  output,
  call,
  return: ret,
});
const cas = (
  client: number,
  expected: number | null,
  value: number,
  ok: boolean,
  call: number,
  ret: number,
  key = "x",
): Operation => ({ client, op: "cas", key, expected, value, ok, call, return: ret });
const lostPut = (client: number, value: number, call: number): Operation => ({
  client,
  op: "put",
  key: "x",
  value,
  call,
  unknown: true,
});
const lostCas = (client: number, expected: number | null, value: number, call: number): Operation => ({
  client,
  op: "cas",
  key: "x",
  expected,
  value,
  call,
  unknown: true,
});

function expectViolation(ops: Operation[], key = "x"): string {
  const result = checkLinearizable(ops);
  expect(result.ok).toBe(false);
  if (result.ok !== false) throw new Error("unreachable");
  expect(result.key).toBe(key);
  expect(result.reason).toContain(`key "${key}"`);
  return result.reason;
}

describe("checkLinearizable", () => {
  it("accepts an empty history and a sequential one", () => {
    expect(checkLinearizable([])).toEqual({ ok: true });
    expect(
      checkLinearizable([
        get(0, null, 0, 1),
        put(0, 1, 2, 3),
        get(1, 1, 4, 5),
        cas(1, 1, 2, true, 6, 7),
        cas(0, 1, 3, false, 8, 9),
        get(0, 2, 10, 11),
      ]),
    ).toEqual({ ok: true });
  });

  it("accepts overlapping operations in whichever order explains them", () => {
    expect(checkLinearizable([put(0, 1, 0, 100), get(1, null, 10, 50)]).ok).toBe(true);
    expect(checkLinearizable([put(0, 1, 0, 100), get(1, 1, 10, 50)]).ok).toBe(true);
    const racingPuts = [put(0, 1, 0, 100), put(1, 2, 10, 90)];
    expect(checkLinearizable([...racingPuts, get(2, 1, 120, 130)]).ok).toBe(true);
    expect(checkLinearizable([...racingPuts, get(2, 2, 120, 130)]).ok).toBe(true);
    expect(checkLinearizable([...racingPuts, get(2, 1, 50, 60), get(3, 2, 70, 80)]).ok).toBe(true);
  });

  it("treats touching intervals as concurrent", () => {
    expect(checkLinearizable([put(0, 1, 0, 10), get(1, null, 10, 20)]).ok).toBe(true);
  });

  it("rejects a stale read after a completed put", () => {
    const reason = expectViolation([put(0, 1, 0, 10), put(0, 2, 20, 30), get(1, 1, 40, 50)]);
    expect(reason).toContain("client 1 get → 1 [40, 50]");
  });

  it("rejects reads that go back in time", () => {
    expectViolation([put(0, 1, 0, 100), get(1, 1, 10, 20), get(2, null, 30, 40)]);
  });

  it("rejects a read of a value never written", () => {
    const reason = expectViolation([put(0, 1, 0, 10), get(1, 7, 20, 30)]);
    expect(reason).toContain("never written");
    expectViolation([put(0, 1, 0, 10), get(1, null, 20, 30)]);
  });

  it("rejects two concurrent cas that both succeed from the same value", () => {
    const start = put(0, 0, 0, 10);
    expectViolation([start, cas(1, 0, 1, true, 20, 40), cas(2, 0, 2, true, 25, 45)]);
    expect(checkLinearizable([start, cas(1, 0, 1, true, 20, 40), cas(2, 0, 2, false, 25, 45)]).ok).toBe(true);
    expect(
      checkLinearizable([start, cas(1, 0, 1, true, 20, 40), cas(2, 1, 2, true, 25, 45), get(0, 2, 50, 60)])
        .ok,
    ).toBe(true);
  });

  it("treats expected null as an absent key in cas", () => {
    expect(checkLinearizable([cas(0, null, 1, true, 0, 10), get(1, 1, 20, 30)]).ok).toBe(true);
    expect(checkLinearizable([cas(0, null, 1, true, 0, 10), cas(1, null, 2, false, 20, 30)]).ok).toBe(true);
    expectViolation([cas(0, null, 1, true, 0, 10), cas(1, null, 2, true, 20, 30)]);
    expectViolation([cas(0, null, 1, false, 0, 10)]);
    expectViolation([put(0, 5, 0, 10), cas(1, null, 1, true, 20, 30)]);
  });

  it("lets a put with an unknown outcome take effect late, or never", () => {
    expect(checkLinearizable([lostPut(0, 5, 0), put(1, 1, 10, 20), get(2, 5, 100, 110)]).ok).toBe(true);
    expect(
      checkLinearizable([lostPut(0, 5, 0), put(1, 1, 10, 20), get(2, 1, 30, 40), get(1, 1, 100, 110)]).ok,
    ).toBe(true);
  });

  it("still constrains puts with an unknown outcome", () => {
    expectViolation([get(1, 5, 0, 10), lostPut(0, 5, 20)]);
    expectViolation([lostPut(0, 5, 0), get(1, 5, 10, 20), put(1, 6, 30, 40), get(2, 5, 50, 60)]);
  });

  it("lets a cas with an unknown outcome succeed or fail", () => {
    const start = put(1, 1, 0, 10);
    expect(checkLinearizable([start, lostCas(0, 1, 3, 20), get(2, 3, 30, 40)]).ok).toBe(true);
    expect(checkLinearizable([start, lostCas(0, 1, 3, 20), get(2, 1, 30, 40)]).ok).toBe(true);
    expect(checkLinearizable([start, lostCas(0, 1, 3, 20), get(2, 1, 30, 40), get(2, 3, 50, 60)]).ok).toBe(
      true,
    );
    expectViolation([put(1, 2, 0, 10), lostCas(0, 1, 3, 20), get(2, 3, 30, 40)]);
  });

  it("chains unknown-outcome operations when a later read needs them", () => {
    expect(checkLinearizable([lostCas(0, null, 1, 0), lostCas(1, 1, 2, 5), get(2, 2, 10, 20)]).ok).toBe(true);
    expectViolation([lostCas(0, null, 1, 0), lostCas(1, 1, 2, 15), get(2, 2, 5, 10)]);
    expect(
      checkLinearizable([
        lostPut(0, 1, 0),
        lostPut(1, 1, 1),
        get(2, 1, 10, 20),
        put(3, 2, 30, 40),
        get(2, 1, 50, 60),
      ]).ok,
    ).toBe(true);
  });

  it("lets an unknown-outcome put explain a failed cas", () => {
    const start = put(1, 1, 0, 10);
    expectViolation([start, cas(2, 1, 3, false, 20, 30)]);
    expect(checkLinearizable([start, lostPut(0, 2, 5), cas(2, 1, 3, false, 20, 30)]).ok).toBe(true);
    expect(
      checkLinearizable([start, lostPut(0, 2, 5), cas(2, 1, 3, false, 20, 30), get(1, 2, 40, 50)]).ok,
    ).toBe(true);
    expectViolation([start, lostPut(0, 2, 5), cas(2, 1, 3, false, 20, 30), get(1, 1, 40, 50)]);
  });

  it("ignores gets with an unknown outcome", () => {
    const lostGet: Operation = { client: 3, op: "get", key: "x", call: 0, unknown: true };
    expect(checkLinearizable([put(0, 1, 0, 10), lostGet, get(1, 1, 20, 30)]).ok).toBe(true);
  });

  it("checks keys independently and names the failing key", () => {
    const ops = [
      put(0, 1, 0, 10, "x"),
      put(1, 1, 5, 15, "y"),
      get(0, 1, 20, 30, "x"),
      get(1, 1, 20, 30, "y"),
      put(0, 2, 40, 50, "x"),
      get(1, null, 60, 70, "y"),
    ];
    expect(checkLinearizable(ops.slice(0, 5)).ok).toBe(true);
    expectViolation(ops, "y");
  });

  it("rejects an operation that returns before its call", () => {
    expect(() => checkLinearizable([put(0, 1, 10, 5)])).toThrow(RangeError);
  });

  it("answers unknown when the step budget runs out", () => {
    const ops = [put(0, 1, 0, 10), put(1, 2, 0, 10), put(2, 3, 0, 10), get(3, 1, 20, 30), get(3, 2, 40, 50)];
    const result = checkLinearizable(ops, { maxSteps: 3 });
    expect(result.ok).toBe("unknown");
    expect(checkLinearizable(ops).ok).toBe(false);
  });
});

describe("history JSON lines", () => {
  const lines = [
    `{"client":0,"op":"put","key":"x","value":1,"call":100,"return":250}`,
    `{"client":1,"op":"get","key":"x","output":1,"call":120,"return":300}`,
    `{"client":2,"op":"cas","key":"x","expected":1,"value":2,"ok":true,"call":310,"return":400}`,
    `{"client":0,"op":"put","key":"x","value":3,"call":500,"unknown":true}`,
    `{"client":1,"op":"get","key":"y","output":null,"call":510,"return":520}`,
    `{"client":3,"op":"cas","key":"y","expected":null,"value":4,"call":530,"unknown":true}`,
  ];
  const text = `${lines.join("\n")}\n`;

  it("round-trips with fields in a fixed order", () => {
    const ops = parseHistory(text);
    expect(ops).toHaveLength(6);
    expect(ops[2]).toStrictEqual({
      client: 2,
      op: "cas",
      key: "x",
      expected: 1,
      value: 2,
      ok: true,
      call: 310,
      return: 400,
    });
    expect(historyToJsonLines(ops)).toBe(text);
    expect(parseHistory(historyToJsonLines(ops))).toStrictEqual(ops);
    const reordered = `{"return":250,"call":100,"value":1,"key":"x","op":"put","client":0}\n\n`;
    expect(historyToJsonLines(parseHistory(reordered))).toBe(`${lines[0]}\n`);
  });

  it.each([
    [`{"client":0,"op":"put","key":"x","value":1,"call":100`, /line 2: invalid JSON/],
    [`{"client":0,"op":"del","key":"x","call":100,"return":200}`, /line 2: "op" must be/],
    [`{"client":0,"op":"get","key":"x","output":1,"call":100}`, /line 2: missing "return"/],
    [
      `{"client":0,"op":"get","key":"x","output":1,"call":100,"return":50}`,
      /line 2: "return" \(50\) is before/,
    ],
    [
      `{"client":0,"op":"put","key":"x","value":1,"call":100,"retrun":200}`,
      /line 2: unexpected field "retrun"/,
    ],
    [
      `{"client":0,"op":"put","key":"x","value":"1","call":100,"return":200}`,
      /line 2: "value" must be a number/,
    ],
    [`{"client":0,"op":"cas","key":"x","expected":1,"value":2,"call":1,"return":2}`, /line 2: "ok" must be/],
    [
      `{"client":0,"op":"get","key":"x","output":1,"call":1,"unknown":true}`,
      /line 2: .*cannot have "output"/,
    ],
    [`{"client":-1,"op":"get","key":"x","output":1,"call":1,"return":2}`, /line 2: "client" must be/],
    [`[1]`, /line 2: expected a JSON object/],
  ])("reports what is wrong and where: %s", (line, message) => {
    expect(() => parseHistory(`${lines[0]}\n${line}\n${lines[1]}`)).toThrow(message);
  });
});

/** mulberry32: a small seeded PRNG, so every randomized history can be replayed from its seed. */
function seeded(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

interface GenerateOptions {
  clients: number;
  opsPerClient: number;
  keys: number;
  /** Draw written values from [0, values), or make every written value unique when 0. */
  values: number;
  /** The chance that an operation ends with an unknown outcome (half of such writes never take effect). */
  unknownRate: number;
}

/**
 * A history produced by a real register: each client runs its operations one after another, each
 * takes effect at a random instant inside its interval, and the register answers in that order.
 */
function generateHistory(seed: number, options: GenerateOptions): Operation[] {
  const rand = seeded(seed);
  const timed: { client: number; call: number; at: number; ret: number }[] = [];
  for (let client = 0; client < options.clients; client++) {
    let time = rand(50);
    for (let i = 0; i < options.opsPerClient; i++) {
      const call = time + rand(10);
      const at = call + 1 + rand(60);
      const ret = at + 1 + rand(60);
      timed.push({ client, call: call + rand(1000) / 1000, at: at + rand(1000) / 1000, ret });
      time = ret;
    }
  }
  timed.sort((a, b) => a.at - b.at);
  const register = new Map<string, number>();
  let unique = 0;
  return timed.map(({ client, call, ret }) => {
    const key = `k${rand(options.keys)}`;
    const current = register.get(key) ?? null;
    const value = options.values > 0 ? rand(options.values) : ++unique;
    const lost = rand(1_000_000) < options.unknownRate * 1_000_000;
    const applies = !lost || rand(2) === 0;
    const kind = rand(10);
    if (kind < 4) {
      return lost
        ? { client, op: "get", key, call, unknown: true }
        : { client, op: "get", key, output: current, call, return: ret };
    }
    if (kind < 7) {
      if (applies) register.set(key, value);
      return lost
        ? { client, op: "put", key, value, call, unknown: true }
        : { client, op: "put", key, value, call, return: ret };
    }
    const expected =
      rand(2) === 0 ? current : rand(2) === 0 ? null : rand(Math.max(options.values, unique + 1));
    const ok = current === expected;
    if (ok && applies) register.set(key, value);
    return lost
      ? { client, op: "cas", key, expected, value, call, unknown: true }
      : { client, op: "cas", key, expected, value, ok, call, return: ret };
  });
}

/** The register's step, written independently of the checker: the next value, or undefined if `op` cannot happen. */
function step(state: number | null, op: Operation): number | null | undefined {
  if (op.op === "put") return op.value;
  if (op.op === "get") return op.output === state ? state : undefined;
  const matches = state === op.expected;
  if (op.unknown) return matches ? op.value : state;
  return op.ok === matches ? (matches ? op.value : state) : undefined;
}

/** Tries every order that respects real time; operations with an unknown outcome may also be left out. */
function bruteForce(ops: readonly Operation[], state: number | null = null): boolean {
  if (ops.every((op) => op.unknown)) return true;
  return ops.some((op, i) => {
    if (op.op === "get" && op.unknown) return false;
    if (ops.some((other) => other.return !== undefined && other.return < op.call)) return false;
    const next = step(state, op);
    return next !== undefined && bruteForce(ops.toSpliced(i, 1), next);
  });
}

function randomSmallHistory(rand: (n: number) => number, maxLength: number): Operation[] {
  const value = () => 1 + rand(2);
  return Array.from({ length: 1 + rand(maxLength) }, (_, client): Operation => {
    const call = rand(20);
    const end = rand(5) === 0 ? { unknown: true as const } : { return: call + rand(10) };
    const kind = rand(3);
    if (kind === 0) return { client, op: "put", key: "x", value: value(), call, ...end };
    if (kind === 1) {
      if ("unknown" in end) return { client, op: "get", key: "x", call, ...end };
      return { client, op: "get", key: "x", output: rand(3) === 0 ? null : value(), call, ...end };
    }
    const expected = rand(3) === 0 ? null : value();
    if ("unknown" in end) return { client, op: "cas", key: "x", expected, value: value(), call, ...end };
    return { client, op: "cas", key: "x", expected, value: value(), ok: rand(2) === 0, call, ...end };
  });
}

describe("agreement with a brute-force search", () => {
  it.each([
    { histories: 5000, maxLength: 7 },
    { histories: 2000, maxLength: 10 },
  ])("on random small histories: %o", ({ histories, maxLength }) => {
    const rand = seeded(maxLength);
    const verdicts = { linearizable: 0, not: 0 };
    for (let i = 0; i < histories; i++) {
      const ops = randomSmallHistory(rand, maxLength);
      const expected = bruteForce(ops);
      expect(checkLinearizable(ops).ok, historyToJsonLines(ops)).toBe(expected);
      verdicts[expected ? "linearizable" : "not"]++;
    }
    expect(verdicts.linearizable).toBeGreaterThan(histories / 5);
    expect(verdicts.not).toBeGreaterThan(histories / 5);
  });
});

describe("randomized histories from a real register", () => {
  const configs: GenerateOptions[] = [
    { clients: 3, opsPerClient: 30, keys: 1, values: 3, unknownRate: 0 },
    { clients: 5, opsPerClient: 60, keys: 2, values: 5, unknownRate: 0.05 },
    { clients: 4, opsPerClient: 60, keys: 1, values: 2, unknownRate: 0.2 },
    { clients: 8, opsPerClient: 100, keys: 3, values: 0, unknownRate: 0.02 },
  ];

  it.each(configs)("are linearizable: %o", (options) => {
    for (let seed = 1; seed <= 30; seed++) {
      const ops = generateHistory(seed, options);
      expect(checkLinearizable(ops), `seed ${seed}`).toEqual({ ok: true });
    }
  });

  it.each(configs)("fail once a get reads a value never written: %o", (options) => {
    for (let seed = 1; seed <= 30; seed++) {
      const ops = generateHistory(seed, options);
      const rand = seeded(seed);
      const gets = ops.flatMap((op, i) => (op.op === "get" && !op.unknown ? [i] : []));
      const i = gets[rand(gets.length)]!;
      const victim = ops[i] as Extract<Operation, { op: "get" }>;
      ops[i] = { ...victim, output: 1_000_000 };
      expect(checkLinearizable(ops), `seed ${seed}`).toMatchObject({ ok: false, key: victim.key });
    }
  });

  const unique = { clients: 6, opsPerClient: 80, keys: 2, values: 0, unknownRate: 0.02 };

  it("fail once a get reads a value written only after it returned", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const ops = generateHistory(seed, unique);
      const from = seeded(seed)(ops.length / 2);
      const i = ops.findIndex((op, j) => j >= from && op.op === "get" && !op.unknown);
      const victim = ops[i] as Extract<Operation, { op: "get" }>;
      const later = ops.find((op) => op.op === "put" && op.key === victim.key && op.call > victim.return!);
      if (later?.op !== "put") throw new Error(`seed ${seed}: no later put`);
      ops[i] = { ...victim, output: later.value };
      expect(checkLinearizable(ops), `seed ${seed}`).toMatchObject({ ok: false, key: victim.key });
    }
  });

  it("fail once a get reads a value already overwritten when it was called", () => {
    const isWrite = (op: Operation) => op.op === "put" || (op.op === "cas" && op.ok === true);
    for (let seed = 1; seed <= 30; seed++) {
      const ops = generateHistory(seed, { ...unique, opsPerClient: 300 });
      const from = seeded(seed)(ops.length / 2) + ops.length / 4;
      const i = ops.findIndex((op, j) => j >= from && op.op === "get" && !op.unknown);
      const victim = ops[i] as Extract<Operation, { op: "get" }>;
      const writes = ops.filter((op) => op.key === victim.key && isWrite(op) && !op.unknown);
      const overwrite = writes.findLast((op) => op.return! < victim.call)!;
      const stale = writes.findLast((op) => op.return! < overwrite.call);
      if (stale?.op !== "put" && stale?.op !== "cas") throw new Error(`seed ${seed}: no stale write`);
      ops[i] = { ...victim, output: stale.value };
      expect(checkLinearizable(ops), `seed ${seed}`).toMatchObject({ ok: false, key: victim.key });
    }
  });

  it.each([
    { clients: 10, opsPerClient: 1000, keys: 4, values: 10, unknownRate: 0.005 },
    { clients: 20, opsPerClient: 2000, keys: 5, values: 0, unknownRate: 0.01 },
  ])("checks a large history within a small step budget: %o", (options) => {
    const ops = generateHistory(42, options);
    // A step budget, not a clock: the search must stay near-linear on realistic histories.
    expect(checkLinearizable(ops, { maxSteps: 5 * ops.length })).toEqual({ ok: true });
  });
});
