import path from "node:path";
import { MemoryStorage, type WritableStorage } from "@raftkit/core";
import { SimulatedDisk } from "@raftkit/store-fs/testing";
import { expect, it } from "vitest";
import { CorruptWalError, openFileStorage } from "../../src/index.js";
import { zeroSector } from "../../src/wal/tornWrite.js";
import { apply, key, view } from "../crash/check.js";
import { rng, type Spec, toBatch, Workload } from "../crash/workload.js";
import { recordingLogger } from "../helpers.js";
import { runFor, seededRandom, segmentFrames } from "./seeded.js";

const SEEDS = 200;
/** Process lifetimes per seed, each ended by a crash. */
const LIVES = 3;
const DIR = "/data/node";
const OPTIONS = { segmentBytes: 4096, cacheBytes: 2048 };

interface Totals {
  cuts: number;
  flipsRefused: number;
  flipsInZeroSector: number;
}

/** Opens the storage after a crash and checks it holds the acknowledged ops and perhaps some later ones, in order, and nothing else. */
async function reopenAndCheck(
  disk: SimulatedDisk,
  history: Spec[],
  issued: Spec[],
  acked: number,
  what: string,
  totals: Totals,
): Promise<{ storage: WritableStorage & { close(): Promise<void> }; matched: number }> {
  const logger = recordingLogger();
  const storage = await openFileStorage(DIR, { ...OPTIONS, vfs: disk.vfs, logger });
  if (logger.lines.some((l) => / cut \d+ bytes/.test(l))) totals.cuts++;
  const got = view(storage);
  const gotKey = key(storage);
  const ref = new MemoryStorage();
  for (const s of history) apply(ref, s);
  for (let m = 0; m <= issued.length; m++) {
    if (m > 0) apply(ref, issued[m - 1]!);
    if (m >= acked && key(ref) === gotKey && view(ref) === got) return { storage, matched: m };
  }
  const refAcked = new MemoryStorage();
  for (const s of [...history, ...issued.slice(0, acked)]) apply(refAcked, s);
  expect(got, `${what}: the recovered state matches no prefix\n${logger.lines.join("\n")}`).toEqual(
    view(refAcked),
  );
  throw new Error("unreachable");
}

/** Flips one bit of the log's durable frames: the open must refuse, naming the segment and the frame. */
async function flipAndExpectRefusal(
  disk: SimulatedDisk,
  pick: (n: number) => number,
  what: string,
  totals: Totals,
) {
  const segments = disk.listFiles(DIR).filter((f) => f.endsWith(".wal"));
  const file = segments[pick(segments.length)]!;
  const frames = segmentFrames(disk, file);
  const end = frames[frames.length - 1]!.end;
  const offset = pick(end);
  const frame = frames.find((f) => offset >= f.start && offset < f.end);
  const isLastFrame = file === segments[segments.length - 1] && frame === frames[frames.length - 1];
  const buf = Buffer.from(disk.readFile(file));
  disk.flipBit(file, offset, pick(8));
  const err = await openFileStorage(DIR, { ...OPTIONS, vfs: disk.vfs }).then(
    async (s) => {
      await s.close();
      return null;
    },
    (e: unknown) => e,
  );
  // A frame holding a whole zero sector of its own reads as torn when damaged (see damageUnlikeTornWrite).
  if (isLastFrame && frame && zeroSector(buf, frame.start, frame.end) && err === null) {
    totals.flipsInZeroSector++;
    return;
  }
  expect(err, `${what}: flipped byte ${offset} of ${file}`).toBeInstanceOf(CorruptWalError);
  expect((err as CorruptWalError).file, what).toBe(path.normalize(file));
  expect((err as CorruptWalError).offset, what).toBe(frame ? frame.start : 0);
  totals.flipsRefused++;
}

/**
 * Crashes the disk a few microtasks from now or, half the time, right after one of the next two
 * writes to a WAL segment (before its fsync), so that tears hit the log's frames.
 */
async function crashSoon(disk: SimulatedDisk, pick: (n: number) => number): Promise<void> {
  if (pick(2) === 0) return runFor(pick(12), false);
  let writes = 1 + pick(2);
  disk.onOperation = ({ op, path: file }) => {
    // A segment's handle keeps the temporary name it was created under, as a file descriptor would.
    if (op === "write" && file.includes(".wal") && --writes === 0) disk.crash();
  };
  const incarnation = disk.incarnation;
  for (let round = 0; round < 4 && disk.incarnation === incarnation; round++) await runFor(20, true);
}

async function runSeed(seed: number, totals: Totals): Promise<void> {
  const disk = new SimulatedDisk({ random: seededRandom(seed) });
  const pick = rng(seed ^ 0x5bd1e995);
  const history: Spec[] = [];
  let issued: Spec[] = [];
  let acked = 0;
  let nextId = 1;
  for (let life = 0; life <= LIVES; life++) {
    const what = `seed ${seed} life ${life}`;
    const { storage, matched } = await reopenAndCheck(disk, history, issued, acked, what, totals);
    history.push(...issued.slice(0, matched));
    nextId = (issued[issued.length - 1]?.id ?? nextId - 1) + 1;
    if (life === LIVES) {
      await storage.close();
      await flipAndExpectRefusal(disk, pick, what, totals);
      return;
    }
    const workload = new Workload(seed * 31 + life, storage, nextId);
    issued = [];
    const done = new Set<number>();
    const maxInflight = 1 + pick(4);
    let inflight = 0;
    let failure: unknown = null;
    const steps = 1 + pick(60);
    for (let step = 0; step < steps; step++) {
      while (inflight < maxInflight) {
        const spec = workload.next();
        issued.push(spec);
        inflight++;
        const p = spec.kind === "compact" ? storage.compact(spec.index) : storage.save(toBatch(spec));
        Promise.resolve(p).then(
          () => {
            done.add(spec.id);
            inflight--;
          },
          (err: unknown) => {
            failure = err;
          },
        );
      }
      if (step < steps - 1) await runFor(pick(40), pick(2) === 0);
      else await crashSoon(disk, pick);
    }
    expect(failure, what).toBeNull();
    // Acknowledgements come in issue order, so the acknowledged ops are a prefix of the issued ones.
    acked = issued.findIndex((s) => !done.has(s.id));
    if (acked === -1) acked = issued.length;
    expect(done.size, what).toBe(acked);
    if (disk.incarnation === life + 1) disk.crash();
    disk.onOperation = null;
  }
}

it(`keeps every acknowledged batch, and nothing else, across crashes with torn writes (${SEEDS} seeds)`, async () => {
  const totals: Totals = { cuts: 0, flipsRefused: 0, flipsInZeroSector: 0 };
  for (let seed = 1; seed <= SEEDS; seed++) await runSeed(seed, totals);
  // Recovery did cut torn tails, often.
  expect(totals.cuts).toBeGreaterThan(SEEDS / 4);
  expect(totals.flipsRefused).toBeGreaterThan(SEEDS * 0.9);
}, 120_000);
