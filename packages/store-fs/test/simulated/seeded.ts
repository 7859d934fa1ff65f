import path from "node:path";
import type { SimulatedDisk } from "@raftkit/store-fs/testing";
import { readFrame, SEGMENT_HEADER } from "../../src/wal/frame.js";
import { parseSegmentFileName } from "../../src/wal/segmentName.js";
import { rng } from "../crash/workload.js";

/** A seeded PRNG returning floats in [0, 1), as SimulatedDisk takes. */
export function seededRandom(seed: number): () => number {
  const next = rng(seed);
  return () => next(2 ** 32) / 2 ** 32;
}

/** Lets the storage run: `turns` microtask turns, then, if `immediate`, one macrotask (the commit queue's next round). */
export async function runFor(turns: number, immediate: boolean): Promise<void> {
  for (let k = 0; k < turns; k++) await Promise.resolve();
  if (immediate) await new Promise((resolve) => setImmediate(resolve));
}

/** Where each frame of a segment on `disk` starts and ends, oldest first; the frames end where the first bad one would start. */
export function segmentFrames(disk: SimulatedDisk, file: string): { start: number; end: number }[] {
  const buf = Buffer.from(disk.readFile(file));
  const seq = parseSegmentFileName(path.basename(file))!.seq;
  const frames: { start: number; end: number }[] = [];
  for (let at = SEGMENT_HEADER; at < buf.byteLength; ) {
    const f = readFrame(buf, at, seq);
    if (!f.ok) break;
    frames.push({ start: at, end: f.next });
    at = f.next;
  }
  return frames;
}
