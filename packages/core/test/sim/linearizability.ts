import type { Operation } from "./history.js";

/** The verdict of {@link checkLinearizable}; `"unknown"` means the search ran out of its step budget. */
export type LinearizabilityResult =
  | { ok: true }
  | { ok: false; key: string; reason: string }
  | { ok: "unknown"; key: string; reason: string };

/** Options for {@link checkLinearizable}. */
export interface CheckOptions {
  /** How many operations the search may try to linearize, per key, before giving up. Default 2,000,000. */
  maxSteps?: number;
}

/**
 * Checks that a history of get/put/cas operations on a key-value register is linearizable.
 *
 * Keys are independent registers, so each key is checked on its own (P-compositionality) with the
 * Wing–Gong–Lowe backtracking search, memoizing (set of linearized operations, register value) pairs
 * as porcupine does. An operation with an unknown outcome may take effect at any time after its call,
 * or never; a get with an unknown outcome constrains nothing and is ignored.
 *
 * @returns `{ ok: true }`, or the first key found not to be linearizable (or whose search exceeded
 *   `maxSteps`) with a human-readable reason.
 */
export function checkLinearizable(
  ops: readonly Operation[],
  options: CheckOptions = {},
): LinearizabilityResult {
  const maxSteps = options.maxSteps ?? 2_000_000;
  let inconclusive: LinearizabilityResult | undefined;
  for (const [key, keyOps] of partitionByKey(ops)) {
    const result = checkKey(key, keyOps, maxSteps);
    if (result.ok === false) return result;
    if (result.ok === "unknown") inconclusive ??= result;
  }
  return inconclusive ?? { ok: true };
}

type Value = number | null;

interface Entry {
  readonly op: number;
  readonly time: number;
  readonly isCall: boolean;
  readonly pending: boolean;
  readonly match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

interface Frame {
  readonly call: Entry;
  readonly state: Value;
  readonly deferred: boolean;
}

interface DeadEnd {
  readonly depth: number;
  readonly state: Value;
  readonly last: readonly Operation[];
  readonly pending: readonly Operation[];
}

const isPending = (op: Operation): boolean => op.unknown === true || op.return === undefined;

function partitionByKey(ops: readonly Operation[]): Map<string, Operation[]> {
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    if (op.op === "get" && (isPending(op) || op.output === undefined)) continue;
    const keyOps = byKey.get(op.key);
    if (keyOps) keyOps.push(op);
    else byKey.set(op.key, [op]);
  }
  return byKey;
}

/** The register's value after `op` takes effect on `state`, or undefined if `op` could not have returned what it did. */
function apply(state: Value, op: Operation): Value | undefined {
  switch (op.op) {
    case "put":
      return op.value;
    case "get":
      return op.output === state ? state : undefined;
    case "cas": {
      const matches = state === op.expected;
      if (!isPending(op) && op.ok !== undefined && op.ok !== matches) return undefined;
      return matches ? op.value : state;
    }
  }
}

/**
 * The search proper. Known operations are tried before those with an unknown outcome (the "deferred"
 * pass), so an unknown write is only linearized early when something depends on it. Once every known
 * operation is linearized, the rest can always follow, so the search stops there.
 */
function checkKey(key: string, ops: readonly Operation[], maxSteps: number): LinearizabilityResult {
  const impossible = neverWritten(ops);
  if (impossible) {
    return { ok: false, key, reason: `key ${JSON.stringify(key)}: ${describe(impossible)} saw a value never written` };
  }
  const head = buildList(ops);
  const seen = new Map<string, Set<number>[]>();
  remember(seen, head, null);
  const stack: Frame[] = [];
  let state: Value = null;
  let entry = head.next!;
  let deferred = false;
  let remaining = ops.filter((op) => !isPending(op)).length;
  let steps = 0;
  let deepest: DeadEnd | undefined;

  while (remaining > 0) {
    if (entry.isCall) {
      const op = ops[entry.op]!;
      if (entry.pending === deferred) {
        if (++steps > maxSteps) {
          return { ok: "unknown", key, reason: `key ${JSON.stringify(key)}: gave up after ${maxSteps} steps` };
        }
        const next = apply(state, op);
        if (next !== undefined) {
          lift(entry);
          if (remember(seen, head, next)) {
            stack.push({ call: entry, state, deferred });
            state = next;
            if (!entry.pending) remaining--;
            entry = head.next!;
            deferred = false;
            continue;
          }
          unlift(entry);
        }
      }
      entry = entry.next!;
    } else if (!deferred) {
      deferred = true;
      entry = head.next!;
    } else {
      if (!deepest || stack.length > deepest.depth) deepest = deadEnd(head, stack, state, ops);
      const frame = stack.pop();
      if (!frame) break;
      unlift(frame.call);
      state = frame.state;
      deferred = frame.deferred;
      entry = frame.call.next!;
      if (!frame.call.pending) remaining++;
    }
  }
  return remaining === 0 ? { ok: true } : { ok: false, key, reason: explain(key, ops.length, deepest!) };
}

function neverWritten(ops: readonly Operation[]): Operation | undefined {
  const written = new Set<Value>([null]);
  for (const op of ops) if (op.op !== "get") written.add(op.value);
  return ops.find(
    (op) =>
      (op.op === "get" && !written.has(op.output ?? null)) ||
      (op.op === "cas" && op.ok === true && !isPending(op) && !written.has(op.expected)),
  );
}

/** A doubly-linked list of call and return events in time order, behind a sentinel head; calls come first on ties. */
function buildList(ops: readonly Operation[]): Entry {
  const entries: Entry[] = [];
  ops.forEach((op, i) => {
    const pending = isPending(op);
    const time = pending ? Infinity : op.return!;
    const ret: Entry = { op: i, time, isCall: false, pending, match: undefined, prev: undefined, next: undefined };
    entries.push({ op: i, time: op.call, isCall: true, pending, match: ret, prev: undefined, next: undefined }, ret);
  });
  entries.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.op - b.op);
  const head: Entry = {
    op: -1,
    time: -Infinity,
    isCall: false,
    pending: false,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  let prev = head;
  for (const entry of entries) {
    prev.next = entry;
    entry.prev = prev;
    prev = entry;
  }
  return head;
}

function lift(call: Entry): void {
  const ret = call.match!;
  call.prev!.next = call.next;
  call.next!.prev = call.prev;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  call.next!.prev = call;
}

/**
 * Records that the search reached (linearized set, value), returning false if this point or one at
 * least as promising was reached before. Every linearized operation was called before the first
 * remaining return, and every operation returning before it is linearized, so the set is fixed by
 * that return and the calls still waiting ahead of it. Leaving more unknown-outcome operations
 * unlinearized never hurts (they can always go last), so a point is dominated by an earlier one with
 * the same value and known operations whose waiting unknown-outcome operations include its own.
 */
function remember(seen: Map<string, Set<number>[]>, head: Entry, state: Value): boolean {
  let key = `${state}:`;
  const waiting: number[] = [];
  let entry = head.next;
  for (; entry?.isCall; entry = entry.next) {
    if (entry.pending) waiting.push(entry.op);
    else key += `${entry.op},`;
  }
  key += entry?.op;
  const earlier = seen.get(key);
  if (earlier?.some((ids) => waiting.every((id) => ids.has(id)))) return false;
  const ids = new Set(waiting);
  if (earlier) earlier.push(ids);
  else seen.set(key, [ids]);
  return true;
}

function deadEnd(head: Entry, stack: readonly Frame[], state: Value, ops: readonly Operation[]): DeadEnd {
  const known: Operation[] = [];
  const unknown: Operation[] = [];
  for (let entry = head.next; entry?.isCall; entry = entry.next) (entry.pending ? unknown : known).push(ops[entry.op]!);
  const last = stack.slice(-3).map((frame) => ops[frame.call.op]!);
  return { depth: stack.length, state, last, pending: [...known, ...unknown] };
}

function explain(key: string, total: number, deepest: DeadEnd): string {
  const shown = deepest.pending.slice(0, 6).map(describe);
  if (deepest.pending.length > shown.length) shown.push(`and ${deepest.pending.length - shown.length} more`);
  const prefix =
    deepest.depth === 0
      ? "no operation can be linearized first"
      : `the longest linearizable prefix has ${deepest.depth} of ${total} operations, ending ` +
        `${deepest.depth > deepest.last.length ? "… " : ""}${deepest.last.map(describe).join(", ")} ` +
        `(value ${deepest.state}); none of the pending operations can come next`;
  return `key ${JSON.stringify(key)} is not linearizable: ${prefix}: ${shown.join(", ")}`;
}

function describe(op: Operation): string {
  const when = `[${op.call}, ${isPending(op) ? "?" : op.return}]`;
  switch (op.op) {
    case "put":
      return `client ${op.client} put ${op.value} ${when}`;
    case "get":
      return `client ${op.client} get → ${op.output} ${when}`;
    case "cas": {
      const outcome = isPending(op) || op.ok === undefined ? "" : op.ok ? " ok" : " failed";
      return `client ${op.client} cas ${op.expected} → ${op.value}${outcome} ${when}`;
    }
  }
}
