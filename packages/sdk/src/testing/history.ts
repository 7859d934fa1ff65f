import superjson from "superjson";

/** What the cluster answered: a value, an error the user's code threw, or nothing known. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: string } | { unknown: true };

/** Where a command's entry landed in the log: the model runs it with the same context. */
export interface EntryContext {
  index: number;
  term: number;
  time: Date;
}

/**
 * One client operation as the history records it. `call`/`ret` are simulated ms; an
 * operation whose outcome is unknown has `ret` Infinity (it may take effect any time after
 * its call, or never). A command has `entry` if it reached the log.
 */
export interface HistoryOp {
  id: number;
  client: number;
  kind: "command" | "query";
  name: string;
  arg: unknown;
  call: number;
  ret: number;
  outcome: Outcome;
  entry?: EntryContext;
}

/**
 * A value as canonical text: superjson's form (so Dates, Maps, Sets, BigInts, undefined
 * count) with object keys sorted. Two values are deeply equal when their texts are.
 */
export function canonical(value: unknown): string {
  const { json, meta } = superjson.serialize(value);
  return stable([json, meta?.values ?? null]);
}

function stable(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "undefined";
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(",")}}`;
}

/** An operation as one line: `[call–ret ms] client 1: command add(5) → 5 @ index 12`. */
export function describeOp(op: HistoryOp): string {
  const ret = Number.isFinite(op.ret) ? op.ret.toFixed(1) : "?";
  const arg = op.arg === undefined ? "" : short(op.arg);
  const o = op.outcome;
  const out = "unknown" in o ? "unknown" : o.ok ? short(o.value) : `throws ${o.error}`;
  const at = op.entry ? ` @ index ${op.entry.index}` : "";
  return `[${op.call.toFixed(1)}–${ret} ms] client ${op.client}: ${op.kind} ${op.name}(${arg}) → ${out}${at}`;
}

function short(v: unknown): string {
  const { json } = superjson.serialize(v);
  const text = JSON.stringify(json) ?? "undefined";
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
