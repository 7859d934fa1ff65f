import { startNode } from "../src/startNode.js";
import type { AnyMachine } from "../src/types.js";

/** 128-byte values, as in the measurements. */
export const VALUE = "v".repeat(128);

/** How many 128-byte values make about `megabytes` of state. */
export const keysFor = (megabytes: number): number =>
  Math.round((megabytes * 1024 * 1024) / (VALUE.length + 16));

/** Log lines of a node, kept for what the bench waits on (a snapshot stored, one restored). */
export interface SnapshotLog {
  /** Each "snapshot at index" line: when (performance.now()), its index, how long it took (durationMs). */
  taken: { at: number; index: number; ms: number }[];
  /** durationMs of each "restored the state machine" line. */
  restoredMs: number[];
}

/** A quiet logger that records the snapshot lines. */
export function snapshotLogger(log: SnapshotLog) {
  return {
    debug() {},
    info: (fields: Record<string, unknown>, line: string) => {
      if (line.includes("snapshot at index"))
        log.taken.push({ at: performance.now(), index: Number(fields.index), ms: Number(fields.durationMs) });
      if (line.includes("restored the state machine")) log.restoredMs.push(Number(fields.durationMs));
    },
    warn() {},
    error: (_fields: Record<string, unknown>, line: string) => console.error(line),
  };
}

/** A node of the bench: HTTP on `peers[id]`, no fsync, quiet logs. */
export function benchNode(
  machine: AnyMachine,
  o: { id: string; peers: Record<string, string>; dataDir: string; join?: boolean; snapshotEntries: number },
  log: SnapshotLog,
) {
  return startNode({
    logger: snapshotLogger(log),
    machine,
    id: o.id,
    peers: o.peers,
    dataDir: o.dataDir,
    secret: "bench",
    listen: { port: Number(new URL(o.peers[o.id]!).port) },
    unsafeNoFsync: true,
    dashboard: false,
    ...(o.join && { join: true }),
    raft: { snapshotEntries: o.snapshotEntries, snapshotCatchUpEntries: 10 },
  });
}

/** Waits for `ok()`, checking every 5 ms, up to `ms`. */
export async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
