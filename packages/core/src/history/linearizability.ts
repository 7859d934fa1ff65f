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
 * @returns `{ ok: true }`, or the first key found not to be linearizable (or, failing that, whose
 *   search exceeded `maxSteps`) with a human-readable reason.
 * @throws RangeError if an operation returns before its call.
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

/** A call or return of an operation with a known outcome, in Lowe's doubly-linked list of events. */
interface Entry {
  readonly pending: false;
  readonly id: number;
  readonly op: Operation;
  readonly time: number;
  readonly isCall: boolean;
  readonly match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

/**
 * An operation with an unknown outcome. It sets `value` if the register holds `requires` (always, for
 * a put); `twin` is the one called before it with the same effect, if any.
 */
interface Unknown {
  readonly pending: true;
  readonly id: number;
  readonly op: Operation;
  readonly requires: Value | undefined;
  readonly value: number;
  readonly twin: Unknown | undefined;
  readonly hash: readonly [number, number];
  done: boolean;
}

interface Frame {
  readonly call: Entry | Unknown;
  readonly state: Value;
}

interface DeadEnd {
  readonly depth: number;
  readonly state: Value;
  readonly last: readonly Operation[];
  readonly pending: readonly Operation[];
  readonly unknowns: number;
}

const isPending = (op: Operation): boolean => op.unknown === true || op.return === undefined;

function partitionByKey(ops: readonly Operation[]): Map<string, Operation[]> {
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    if (op.return !== undefined && op.return < op.call) {
      throw new RangeError(`${describe(op)} returns before its call`);
    }
    if (op.op === "get" && (isPending(op) || op.output === undefined)) continue;
    const keyOps = byKey.get(op.key);
    if (keyOps) keyOps.push(op);
    else byKey.set(op.key, [op]);
  }
  return byKey;
}

function checkKey(key: string, ops: readonly Operation[], maxSteps: number): LinearizabilityResult {
  const name = JSON.stringify(key);
  const impossible = neverWritten(ops);
  if (impossible) {
    const saw = impossible.op === "get" ? "read" : "expected";
    return {
      ok: false,
      key,
      reason: `key ${name} is not linearizable: ${describe(impossible)} ${saw} a value never written`,
    };
  }
  const search = new KeySearch(ops);
  const verdict = search.run(maxSteps);
  if (verdict === undefined) {
    return { ok: "unknown", key, reason: `key ${name}: gave up after ${maxSteps} steps` };
  }
  return verdict ? { ok: true } : { ok: false, key, reason: search.explain(name, ops.length) };
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
 * An unknown-outcome operation can take effect as late as needed, or never, so it is only worth
 * linearizing when it changes the value, and right before an operation that depends on that. So
 * taking `op` from `state` to `next` is pointless if it is such an operation and changes nothing, or
 * if it follows one (`prev`) and would give the same value without it, or (if known) could have come
 * first.
 */
function pointless(prev: Frame | undefined, op: Operation, state: Value, next: Value): boolean {
  if (isPending(op) && next === state) return true;
  if (!prev?.call.pending) return false;
  const first = apply(prev.state, op);
  if (first === undefined) return false;
  return first === next || (!isPending(op) && apply(first, prev.call.op) === next);
}

/**
 * The Wing–Gong–Lowe search for one key. Operations with a known outcome live in a doubly-linked
 * list of call and return events; at each point the search tries to linearize each one called before
 * the first remaining return, then the unknown-outcome operations that could help, and backtracks
 * when none fits. Points reached (linearized set, value) are memoized.
 */
class KeySearch {
  readonly #head: Entry;
  readonly #unknowns: Unknown[] = [];
  readonly #putsByValue = new Map<Value, Unknown[]>();
  readonly #casByValue = new Map<Value, Unknown[]>();
  readonly #casByExpected = new Map<Value, Unknown[]>();
  readonly #seen = new Set<string>();
  readonly #stack: Frame[] = [];
  #state: Value = null;
  #hash: [number, number] = [0, 0];
  #remaining = 0;
  #steps = 0;
  #deepest: DeadEnd | undefined;

  constructor(ops: readonly Operation[]) {
    this.#head = buildList(ops.filter((op) => !isPending(op)));
    const twins = new Map<string, Unknown>();
    for (const op of ops.filter(isPending).sort((a, b) => a.call - b.call)) {
      if (op.op === "get") continue;
      const id = this.#unknowns.length;
      const requires = op.op === "cas" ? op.expected : undefined;
      const effect = `${requires} ${op.value}`;
      const hash = [mix(2 * id + 1), mix(2 * id + 2)] as const;
      const unknown: Unknown = {
        pending: true,
        id,
        op,
        requires,
        value: op.value,
        twin: twins.get(effect),
        hash,
        done: false,
      };
      twins.set(effect, unknown);
      this.#unknowns.push(unknown);
      if (op.op === "put") addTo(this.#putsByValue, op.value, unknown);
      else {
        addTo(this.#casByValue, op.value, unknown);
        addTo(this.#casByExpected, op.expected, unknown);
      }
    }
    this.#remaining = ops.length - this.#unknowns.length;
  }

  /** True if linearizable, false if not, undefined if that takes more than `maxSteps` steps to tell. */
  run(maxSteps: number): boolean | undefined {
    if (this.#remaining === 0) return true;
    this.#remember(null);
    const points = [this.#candidates()];
    while (this.#remaining > 0) {
      if (this.#steps > maxSteps) return undefined;
      const candidate = points.at(-1)!.next();
      if (!candidate.done) {
        if (this.#tryLinearize(candidate.value)) points.push(this.#candidates());
        continue;
      }
      if (!this.#deepest || this.#stack.length > this.#deepest.depth) this.#deepest = this.#deadEnd();
      const frame = this.#stack.pop();
      if (!frame) return false;
      points.pop();
      this.#mark(frame.call, false);
      this.#state = frame.state;
    }
    return true;
  }

  /** Why the search failed: the deepest point it reached and what could not follow. */
  explain(name: string, total: number): string {
    const deepest = this.#deepest!;
    const pending = deepest.pending.slice(0, 6).map(describe);
    const hidden = deepest.pending.length - pending.length;
    if (hidden > 0) pending.push(`and ${hidden} more`);
    if (deepest.unknowns > 0) pending.push(`nor any of ${deepest.unknowns} with an unknown outcome`);
    const prefix =
      deepest.depth === 0
        ? "no operation can be linearized first"
        : `the longest linearizable prefix has ${deepest.depth} of ${total} operations, ending ` +
          `${deepest.depth > deepest.last.length ? "… " : ""}${deepest.last.map(describe).join(", ")} ` +
          `(value ${deepest.state}); none of the pending operations can come next`;
    return `key ${name} is not linearizable: ${prefix}: ${pending.join(", ")}`;
  }

  /**
   * What to try next from the current point: the known operations called before the first remaining
   * return, then the unknown-outcome ones called by then that some known one needs. A get or cas that
   * fits the current value without changing it could as well go first in any linearization (it
   * changes no value wherever it fits), so if there is one it is the only candidate.
   */
  *#candidates(): Generator<Entry | Unknown> {
    let entry = this.#head.next!;
    for (; entry.isCall; entry = entry.next!) {
      if (entry.op.op !== "put" && apply(this.#state, entry.op) === this.#state) {
        yield entry;
        return;
      }
    }
    for (entry = this.#head.next!; entry.isCall; entry = entry.next!) yield entry;
    yield* this.#wantedUnknowns(entry.time);
  }

  /**
   * The unknown-outcome operations called by `limit` worth linearizing now (see {@link pointless}):
   * those giving a value that a known candidate needs, perhaps through a chain of unknown-outcome cas.
   * A known failed cas expecting the current value needs any other value.
   */
  #wantedUnknowns(limit: number): Unknown[] {
    const available = (unknown: Unknown): boolean => !unknown.done && unknown.op.call <= limit;
    const wanted = new Set<Value>();
    for (let entry = this.#head.next!; entry.isCall; entry = entry.next!) {
      const op = entry.op;
      if (op.op === "get") wanted.add(op.output ?? null);
      else if (op.op === "cas" && op.ok !== false) wanted.add(op.expected);
      else if (op.op === "cas" && op.expected === this.#state) return this.#unknowns.filter(available);
    }
    for (const value of wanted) {
      for (const cas of this.#casByValue.get(value) ?? []) if (available(cas)) wanted.add(cas.requires!);
    }
    const puts = [...wanted].flatMap((value) => this.#putsByValue.get(value) ?? []);
    const cas = (this.#casByExpected.get(this.#state) ?? []).filter((unknown) => wanted.has(unknown.value));
    return [...puts, ...cas].filter(available);
  }

  #tryLinearize(call: Entry | Unknown): boolean {
    if (call.pending && (call.done || call.twin?.done === false)) return false;
    this.#steps++;
    const next = apply(this.#state, call.op);
    if (next === undefined || pointless(this.#stack.at(-1), call.op, this.#state, next)) return false;
    this.#mark(call, true);
    if (!this.#remember(next)) {
      this.#mark(call, false);
      return false;
    }
    this.#stack.push({ call, state: this.#state });
    this.#state = next;
    return true;
  }

  #mark(call: Entry | Unknown, linearized: boolean): void {
    if (call.pending) {
      call.done = linearized;
      this.#hash[0] ^= call.hash[0];
      this.#hash[1] ^= call.hash[1];
    } else {
      if (linearized) lift(call);
      else unlift(call);
      this.#remaining += linearized ? -1 : 1;
    }
  }

  /**
   * Records that the search reached (linearized set, value), returning false if it did before.
   * Every linearized known operation was called before the first remaining return, and every one
   * returning before it is linearized, so their set is fixed by that return and the calls still
   * waiting ahead of it. The linearized unknown-outcome operations are identified by a 64-bit
   * Zobrist hash (a collision, vanishingly unlikely, could only hide a linearization).
   */
  #remember(state: Value): boolean {
    let key = `${state}|${this.#hash[0]}|${this.#hash[1]}|`;
    let entry = this.#head.next;
    for (; entry?.isCall; entry = entry.next) key += `${entry.id},`;
    key += entry?.id;
    if (this.#seen.has(key)) return false;
    this.#seen.add(key);
    return true;
  }

  #deadEnd(): DeadEnd {
    const pending: Operation[] = [];
    for (let entry = this.#head.next; entry?.isCall; entry = entry.next) pending.push(entry.op);
    const limit = firstReturn(this.#head).time;
    const unknowns = this.#unknowns.filter((unknown) => !unknown.done && unknown.op.call <= limit).length;
    const last = this.#stack.slice(-3).map((frame) => frame.call.op);
    return { depth: this.#stack.length, state: this.#state, last, pending, unknowns };
  }
}

/** A doubly-linked list of call and return events in time order, behind a sentinel head; calls come first on ties. */
function buildList(ops: readonly Operation[]): Entry {
  const entries: Entry[] = [];
  const entry = (id: number, op: Operation, isCall: boolean, match?: Entry): Entry => {
    const time = isCall ? op.call : op.return!;
    return { pending: false, id, op, time, isCall, match, prev: undefined, next: undefined };
  };
  ops.forEach((op, id) => {
    const ret = entry(id, op, false);
    entries.push(entry(id, op, true, ret), ret);
  });
  entries.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.id - b.id);
  const head = entry(-1, { client: -1, op: "get", key: "", call: -Infinity, return: -Infinity }, false);
  let prev = head;
  for (const next of entries) {
    prev.next = next;
    next.prev = prev;
    prev = next;
  }
  return head;
}

function addTo(map: Map<Value, Unknown[]>, key: Value, unknown: Unknown): void {
  const list = map.get(key);
  if (list) list.push(unknown);
  else map.set(key, [unknown]);
}

function firstReturn(head: Entry): Entry {
  let entry = head.next!;
  while (entry.isCall) entry = entry.next!;
  return entry;
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

/** A 32-bit integer hash (lowbias32), bijective on 32-bit inputs. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
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
