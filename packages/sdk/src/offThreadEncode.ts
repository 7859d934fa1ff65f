import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { serialize } from "node:v8";
import { Worker } from "node:worker_threads";
import type { Entry, StateMachine } from "@raftkit/core";
import { encodeValue } from "./codec.js";
import { DecodeError } from "./errors.js";

/**
 * Values with fewer nodes than this are encoded on the spot: superjson costs about 3 µs a node,
 * so a state this small stalls the event loop for less than ~15 ms, below what a worker costs.
 */
const INLINE_NODES = 5_000;

/** The worker: rebuilds the value from V8's serialization, encodes it with superjson, hands the bytes back. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { deserialize } = require("node:v8");
import(workerData.superjson).then(({ default: superjson }) => {
  const text = superjson.stringify(deserialize(new Uint8Array(workerData.bytes)));
  const out = new TextEncoder().encode(text);
  parentPort.postMessage(out, [out.buffer]);
}).catch((e) => parentPort.postMessage({ error: String((e && e.stack) || e) }));
`;

let superjsonUrl: string | null = null;
function superjsonModule(): string {
  superjsonUrl ??= pathToFileURL(createRequire(import.meta.url).resolve("superjson")).href;
  return superjsonUrl;
}

/**
 * Counts the nodes of `value`, or returns -1 when it holds something V8's serializer would not
 * give back as superjson sees it (a class instance, a URL, an Error, a typed array, a function):
 * those take the inline path, which keeps today's encoding and errors.
 */
function plainNodes(value: unknown): number {
  const stack: unknown[] = [value];
  const seen = new Set<object>();
  let nodes = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    nodes++;
    if (v === null || typeof v !== "object") {
      if (typeof v === "function" || typeof v === "symbol") return -1;
      continue;
    }
    if (seen.has(v)) continue;
    seen.add(v);
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else if (v instanceof Map) {
      for (const [k, x] of v) stack.push(k, x);
    } else if (v instanceof Set) {
      for (const x of v) stack.push(x);
    } else if (!(v instanceof Date) && !(v instanceof RegExp)) {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return -1;
      for (const x of Object.values(v)) stack.push(x);
    }
  }
  return nodes;
}

/**
 * Encodes `value` exactly as {@link encodeValue} does (superjson, the same bytes), without
 * stalling the event loop for a large value: the value is copied at once with V8's serializer
 * (1–2 ms per MB, so later changes to it do not reach the encoding) and encoded by a worker
 * thread. Small values, and values holding anything but plain data, are encoded inline.
 * Rejects with a {@link DecodeError} naming `what`.
 */
export function encodeValueOffThread(value: unknown, what: string): Promise<Uint8Array> {
  const nodes = plainNodes(value);
  if (nodes < INLINE_NODES) {
    try {
      return Promise.resolve(encodeValue(value, what));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  const copy = serialize(value);
  // V8 hands back a buffer of its own: transfer it, unless it is a view of a shared pool.
  const own = copy.byteOffset === 0 && copy.byteLength === copy.buffer.byteLength;
  const bytes = own ? copy.buffer : copy.buffer.slice(copy.byteOffset, copy.byteOffset + copy.byteLength);
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { bytes, superjson: superjsonModule() },
      transferList: [bytes],
    });
    worker.unref();
    worker.once("message", (m: Uint8Array | { error: string }) => {
      void worker.terminate();
      if (m instanceof Uint8Array) resolve(m);
      else reject(new DecodeError(what, new Error(m.error)));
    });
    worker.once("error", (e) => reject(new DecodeError(what, e)));
  });
}

/** A state machine that can hand out its snapshot's value before encoding it. @internal */
export interface SnapshotSource {
  apply(entries: readonly Entry[]): unknown[] | Promise<unknown[]>;
  restore(data: Uint8Array): void | Promise<void>;
  snapshotValue(): unknown;
}

/**
 * `machine` as the runtime's {@link StateMachine}, its snapshots encoded with
 * {@link encodeValueOffThread}: the value is copied when the runtime asks, so applies may go on
 * while the worker encodes it.
 *
 * @internal
 */
export function offThreadSnapshots(machine: SnapshotSource): StateMachine {
  return {
    apply: (entries) => machine.apply(entries),
    restore: (data) => machine.restore(data),
    snapshot: () => encodeValueOffThread(machine.snapshotValue(), "the machine's state"),
  };
}
