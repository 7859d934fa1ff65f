/**
 * The tracing module of `bench e2e` with BENCH_TRACE=<dir>: loaded with `--import` into every
 * node process and the load process, it wraps a few methods to timestamp each entry's life
 * (wall-clock µs, comparable between processes on one machine) and writes the marks to
 * `<dir>/<pid>.json` as the process exits. stageSummary.ts turns them into a table. Diagnostic
 * only: the wrappers cost a little time themselves.
 */
import { writeFileSync } from "node:fs";
import { type Message, RaftNode, type StorageBatch } from "@raftkit/core";
import { FileStorage } from "@raftkit/store-fs";
import { HttpTransport } from "@raftkit/transport-http";
import { ApiStream } from "../src/apiStream.js";
import { CommandRunner } from "../src/commandRunner.js";
import { ReplicatedMachine } from "../src/replicatedMachine.js";

/** One mark: what happened, to which entry index (0 for a client call), when (µs). */
export type Mark = [what: string, index: number, atUs: number];

const marks: Mark[] = [];
const now = (): number => (performance.timeOrigin + performance.now()) * 1000;
const mark = (what: string, index: number, at = now()): void => void marks.push([what, index, at]);

/** Wraps `proto[name]` so that `before` runs with its arguments and `after` with its settled result. */
function wrap<T extends object>(
  proto: T,
  name: string,
  before: (args: unknown[]) => unknown,
  after?: (state: unknown, result: unknown) => void,
  returned?: (state: unknown) => void,
): void {
  const target = proto as Record<string, (...a: unknown[]) => unknown>;
  const original = target[name]!;
  target[name] = function (this: unknown, ...args: unknown[]) {
    const state = before(args);
    const result = original.apply(this, args);
    returned?.(state);
    if (after) {
      if (result instanceof Promise)
        result.then(
          (v) => after(state, v),
          () => {},
        );
      else after(state, result);
    }
    return result;
  };
}

wrap(
  FileStorage.prototype,
  "save",
  ([b]) => {
    const ids = ((b as StorageBatch).entries ?? []).map((e) => e.index);
    for (const i of ids) mark("saveStart", i);
    return ids;
  },
  (ids) => {
    for (const i of ids as number[]) mark("saveDone", i);
  },
);
wrap(HttpTransport.prototype, "send", ([ms]) => {
  for (const m of ms as Message[]) {
    if (m.type === "append") for (const e of m.entries) mark(`sendAppend:${m.to}`, e.index);
    if (m.type === "appendResponse" && !m.reject) mark("sendAck", m.index);
  }
});
wrap(HttpTransport.prototype, "start", ([h]) => {
  const handler = h as { receive(ms: Message[]): void };
  const receive = handler.receive.bind(handler);
  handler.receive = (ms) => {
    for (const m of ms) {
      if (m.type === "append") for (const e of m.entries) mark("receiveAppend", e.index);
      if (m.type === "appendResponse" && !m.reject) mark(`receiveAck:${m.from}`, m.index);
    }
    receive(ms);
  };
});
wrap(
  ReplicatedMachine.prototype,
  "apply",
  ([es]) => {
    for (const e of es as { index: number }[]) mark("applyStart", e.index);
    return es;
  },
  (es) => {
    for (const e of es as { index: number }[]) mark("applyDone", e.index);
  },
  // apply's work is synchronous unless a batch takes longer than a turn: when it returns.
  (es) => {
    for (const e of es as { index: number }[]) mark("applyReturned", e.index);
  },
);
wrap(
  RaftNode.prototype,
  "propose",
  () => now(),
  (at, r) => {
    const { index } = r as { index: number };
    mark("propose", index, at as number);
    mark("proposeResolved", index);
  },
);
wrap(
  CommandRunner.prototype,
  "runSequencedWithToken",
  () => now(),
  (at, r) => {
    const { token } = r as { token: number };
    mark("serverCall", token, at as number);
    mark("serverAnswer", token);
  },
);
wrap(
  ApiStream.prototype,
  "call",
  () => now(),
  (at, r) => {
    const index = (r as { index?: number }).index ?? 0;
    mark("clientCall", index, at as number);
    mark("clientAnswer", index);
  },
);

const dir = process.env.BENCH_TRACE;
if (dir) process.on("exit", () => writeFileSync(`${dir}/${process.pid}.json`, JSON.stringify(marks)));
