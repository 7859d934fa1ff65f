import type { Entry } from "@raftkit/core";
import type { BatchStep } from "./runBatch.js";
import { assertChangesEncodable } from "./stateChanges.js";
import type { CommandContext } from "./types.js";

/** mulberry32 seeded from the entry: the same stream on every node (and in the chaos kit's model). */
export function entryRandom(index: number, term: number): () => number {
  let state = (Math.imul(index, 2654435761) ^ Math.imul(term, 40503)) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A reducer as ReplicatedMachine calls it. */
export type Reducer = (draft: unknown, arg: unknown, ctx: CommandContext) => unknown;

/**
 * One command's reducer call in a batch (see runBatch): the reducer, its argument and its
 * entry's context. An object rather than a closure per entry, as it is made for every command.
 */
export class CommandStep implements BatchStep {
  constructor(
    readonly reducer: Reducer,
    readonly name: string,
    readonly arg: unknown,
    readonly entry: Entry,
    /** The entry's log time, in ms. */
    readonly time: number,
    readonly version: number,
  ) {}

  run(draft: unknown): unknown {
    const { index, term } = this.entry;
    // A fresh random stream per run, so a re-run (see runBatch) draws the same numbers.
    const ctx: CommandContext = {
      index,
      term,
      time: new Date(this.time),
      random: entryRandom(index, term),
      version: this.version,
    };
    const result = this.reducer(draft, this.arg, ctx);
    assertChangesEncodable(draft, this.name);
    return result;
  }
}
