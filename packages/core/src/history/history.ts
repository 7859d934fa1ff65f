/**
 * One client operation on a key-value register, as observed by the client. `call` and `return` are
 * simulated times. An operation with `unknown: true` has no `return` and no output: it may or may not
 * have taken effect, at any time after its call. A key never written reads as `null`.
 */
export type Operation =
  | { client: number; op: "put"; key: string; value: number; call: number; return?: number; unknown?: true }
  | {
      client: number;
      op: "get";
      key: string;
      output?: number | null;
      call: number;
      return?: number;
      unknown?: true;
    }
  | {
      client: number;
      op: "cas";
      key: string;
      expected: number | null;
      value: number;
      ok?: boolean;
      call: number;
      return?: number;
      unknown?: true;
    };

/** Serializes a history as JSON lines, one operation per line, with fields in a fixed order. */
export function historyToJsonLines(ops: readonly Operation[]): string {
  return ops.map((op) => `${JSON.stringify(ordered(op))}\n`).join("");
}

/**
 * Parses a JSON-lines history (blank lines are ignored), validating every line.
 * @throws Error naming the line number and what is wrong with it.
 */
export function parseHistory(text: string): Operation[] {
  const ops: Operation[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      ops.push(parseOperation(line));
    } catch (error) {
      throw new Error(`line ${i + 1}: ${(error as Error).message}`);
    }
  });
  return ops;
}

function ordered(op: Operation): Record<string, unknown> {
  const { client, key, call } = op;
  const end = { return: op.return, unknown: op.unknown };
  switch (op.op) {
    case "put":
      return { client, op: op.op, key, value: op.value, call, ...end };
    case "get":
      return { client, op: op.op, key, output: op.output, call, ...end };
    case "cas":
      return { client, op: op.op, key, expected: op.expected, value: op.value, ok: op.ok, call, ...end };
  }
}

const FIELDS: Record<Operation["op"], readonly string[]> = {
  put: ["value"],
  get: ["output"],
  cas: ["expected", "value", "ok"],
};

function parseOperation(line: string): Operation {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (error) {
    throw new Error(`invalid JSON (${(error as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new Error("expected a JSON object");
  }
  const o = raw as Record<string, unknown>;
  const kind = o.op;
  if (kind !== "put" && kind !== "get" && kind !== "cas") {
    throw new Error(`"op" must be "put", "get" or "cas", got ${JSON.stringify(kind)}`);
  }
  const allowed = new Set(["client", "op", "key", "call", "return", "unknown", ...FIELDS[kind]]);
  const extra = Object.keys(o).find((field) => !allowed.has(field));
  if (extra !== undefined) throw new Error(`unexpected field "${extra}" for a ${kind}`);

  const { client, key } = o;
  if (typeof client !== "number" || !Number.isInteger(client) || client < 0) {
    throw new Error(`"client" must be a non-negative integer`);
  }
  if (typeof key !== "string") throw new Error(`"key" must be a string`);
  const call = finite(o, "call");
  const unknown = o.unknown === true;
  if (o.unknown !== undefined && !unknown) throw new Error(`"unknown" may only be true`);
  const outcome = ["return", "output", "ok"].find((field) => o[field] !== undefined);
  if (unknown && outcome !== undefined) {
    throw new Error(`an operation with "unknown": true cannot have "${outcome}"`);
  }
  if (!unknown && o.return === undefined) {
    throw new Error(`missing "return" (an operation with no outcome needs "unknown": true)`);
  }
  const end = unknown ? { unknown: true as const } : { return: finite(o, "return") };
  if (end.return !== undefined && end.return < call) {
    throw new Error(`"return" (${end.return}) is before "call" (${call})`);
  }

  switch (kind) {
    case "put":
      return { client, op: kind, key, value: finite(o, "value"), call, ...end };
    case "get":
      if (unknown) return { client, op: kind, key, call, unknown: true };
      return { client, op: kind, key, output: nullable(o, "output"), call, ...end };
    case "cas": {
      const expected = nullable(o, "expected");
      const value = finite(o, "value");
      if (unknown) return { client, op: kind, key, expected, value, call, unknown: true };
      if (typeof o.ok !== "boolean") throw new Error(`"ok" must be a boolean`);
      return { client, op: kind, key, expected, value, ok: o.ok, call, ...end };
    }
  }
}

function finite(o: Record<string, unknown>, field: string): number {
  const value = o[field];
  if (typeof value !== "number" || !Number.isFinite(value)) throw new Error(`"${field}" must be a number`);
  return value;
}

function nullable(o: Record<string, unknown>, field: string): number | null {
  const value = o[field];
  if (value === null || (typeof value === "number" && Number.isFinite(value))) return value;
  throw new Error(`"${field}" must be a number or null`);
}
