/**
 * `pnpm bench store`: FileStorage's durable write rate (fsync on), beside the disk's raw
 * fdatasync rate measured in the same directory in the same run.
 *
 * Each row: `callers` concurrent callers each save batches of `batch` entries of `bytes` bytes,
 * one after another, into a new directory, once a warm-up has moved the log into its first
 * preallocated segment (where a node spends all but its first MiB). Raw = one writer
 * appending 4 KiB records with fdatasync after each, as `shared/anchors/disk/fsync-rate.mjs`
 * does (synchronous calls); raw async = the same loop with the fdatasync through libuv's
 * thread pool, the best a program that does not block its event loop can do. This disk's rate
 * drifts from second to second, so the three loops take turns (in rotating order) in 100 ms
 * slices, BENCH_SECONDS (default 2) each per row. "% raw" compares saves/s with raw.
 * Env: BENCH_SECONDS, BENCH_DIR (default the OS temp directory).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Entry } from "@raftkit/core";
import { type FileStorage, openFileStorage } from "../src/index.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const SLICE_MS = 100;
const base = process.env.BENCH_DIR ?? os.tmpdir();
const dir = fs.mkdtempSync(path.join(base, "raftkit-bench-store-"));

interface Row {
  batch: number;
  bytes: number;
  callers: number;
}

/** Counts and latencies (ms) gathered over slices. */
class Tally {
  ops = 0;
  ms = 0;
  readonly lat: number[] = [];
  perSec(): number {
    return this.ops / (this.ms / 1000);
  }
  pct(p: number): number {
    const s = [...this.lat].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? 0;
  }
}

/** One slice of the raw loop: append a 4 KiB record, fdatasync, repeat. */
async function rawSlice(fd: number, t: Tally, async: boolean): Promise<void> {
  const buf = Buffer.alloc(4096, 0x61);
  const start = performance.now();
  let now = start;
  while (now - start < SLICE_MS) {
    fs.writeSync(fd, buf);
    const s = performance.now();
    if (async) await new Promise<void>((res, rej) => fs.fdatasync(fd, (e) => (e ? rej(e) : res())));
    else fs.fdatasyncSync(fd);
    now = performance.now();
    t.lat.push(now - s);
    t.ops++;
  }
  t.ms += now - start;
}

/** One slice of `callers` loops saving batches. */
async function storeSlice(s: FileStorage, row: Row, t: Tally, next: { index: number }): Promise<void> {
  const payload = new Uint8Array(row.bytes).fill(7);
  const start = performance.now();
  const caller = async (): Promise<void> => {
    while (performance.now() - start < SLICE_MS) {
      const ents: Entry[] = [];
      for (let k = 0; k < row.batch; k++)
        ents.push({ index: next.index++, term: 1, type: "normal", data: payload });
      const t0 = performance.now();
      await s.save({ entries: ents });
      t.lat.push(performance.now() - t0);
      t.ops++;
    }
  };
  await Promise.all(Array.from({ length: row.callers }, caller));
  t.ms += performance.now() - start;
}

/**
 * Writes until the first segment (which a new directory starts without preallocation) has
 * been left for a preallocated one, so that rows measure the steady state.
 */
async function warmUp(s: FileStorage, next: { index: number }): Promise<void> {
  const data = new Uint8Array(4096);
  const deadline = performance.now() + 20_000;
  while (s.stats().segments < 2 && performance.now() < deadline) {
    const ents: Entry[] = [];
    for (let k = 0; k < 64; k++) ents.push({ index: next.index++, term: 1, type: "normal", data });
    await s.save({ entries: ents });
  }
  if (s.stats().segments < 2) console.log("(warm-up: no preallocated segment after 20 s; measuring anyway)");
}

async function run(row: Row) {
  const sub = path.join(dir, `store-${row.batch}-${row.bytes}-${row.callers}`);
  const s = await openFileStorage(sub);
  const rawFile = path.join(dir, "raw.bin");
  const fd = fs.openSync(rawFile, "w");
  const raw = new Tally();
  const rawAsync = new Tally();
  const store = new Tally();
  const next = { index: 1 };
  await warmUp(s, next);
  await rawSlice(fd, new Tally(), false);
  await storeSlice(s, row, new Tally(), next);
  const commitsBefore = s.stats().commits;
  const turns = [
    () => rawSlice(fd, raw, false),
    () => rawSlice(fd, rawAsync, true),
    () => storeSlice(s, row, store, next),
  ];
  for (let round = 0; store.ms < SECONDS * 1000; round++) {
    // Rotate the order: a loop's first fsyncs after another's run a little slower or faster.
    for (let k = 0; k < turns.length; k++) await turns[(round + k) % turns.length]!();
  }
  const entriesPerFsync = (store.ops * row.batch) / Math.max(1, s.stats().commits - commitsBefore);
  await s.close();
  fs.closeSync(fd);
  fs.rmSync(rawFile);
  fs.rmSync(sub, { recursive: true, force: true });
  return { raw, rawAsync, store, entriesPerFsync };
}

const rows: Row[] = [
  ...[64, 4096].flatMap((bytes) => [1, 16, 256].map((batch) => ({ batch, bytes, callers: 1 }))),
  { batch: 1, bytes: 64, callers: 16 },
  { batch: 1, bytes: 4096, callers: 16 },
];

const num = (n: number, w: number): string => Math.round(n).toLocaleString("en-US").padStart(w);
const ms = (n: number, w: number): string => n.toFixed(3).padStart(w);

console.log(
  `bench store: FileStorage in ${dir}; fsync on (one fdatasync per group commit); default options ` +
    `(64 MiB segments, 32 MiB cache); ${SECONDS}s of each loop per row, in ${SLICE_MS} ms turns, after a warm-up ` +
    `into the first preallocated segment; node ${process.version}`,
);
console.log(
  "callers  batch  entry B     saves/s    entries/s  entries/fsync  p50 ms  p99 ms   raw fsync/s  p50 ms  p99 ms  raw async/s  % raw  % raw async",
);
try {
  for (const row of rows) {
    const { raw, rawAsync, store, entriesPerFsync } = await run(row);
    console.log(
      `${num(row.callers, 7)}  ${num(row.batch, 5)}  ${num(row.bytes, 7)}  ${num(store.perSec(), 10)}  ${num(store.perSec() * row.batch, 11)}  ` +
        `${entriesPerFsync.toFixed(1).padStart(13)}  ${ms(store.pct(0.5), 6)}  ${ms(store.pct(0.99), 6)}  ` +
        `${num(raw.perSec(), 12)}  ${ms(raw.pct(0.5), 6)}  ${ms(raw.pct(0.99), 6)}  ${num(rawAsync.perSec(), 11)}  ` +
        `${num((100 * store.perSec()) / raw.perSec(), 5)}  ${num((100 * store.perSec()) / rawAsync.perSec(), 11)}`,
    );
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
