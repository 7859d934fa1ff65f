import path from "node:path";
import {
  CompactedError,
  type Entry,
  entrySize,
  type HardState,
  type InitialState,
  type Snapshot,
  type SnapshotMeta,
  SnapshotOutOfDateError,
  type StorageBatch,
  UnavailableError,
  type WritableStorage,
} from "@raftkit/core";
import { CommitQueue } from "./commitQueue.js";
import { StorageClosedError, StorageFailedError } from "./errors.js";
import type { DirLock } from "./lock.js";
import type { LogIndex } from "./logIndex.js";
import type { ResolvedOptions } from "./options.js";
import { parseSnapshotFileName, writeSnapshotFile } from "./snapshot/snapshotFile.js";
import { TailCache } from "./tailCache.js";
import type { TermLog } from "./termLog.js";
import { frameByteLength } from "./wal/frame.js";
import type { SegmentReader } from "./wal/reader.js";
import { ENTRY_HEADER, type SegmentState, type WalOp } from "./wal/record.js";
import type { Placement, WalWriter } from "./wal/writer.js";

/** Figures about a {@link FileStorage}, for tests and monitoring. */
export interface FileStorageStats {
  /** Bytes of entries held in memory, as `entrySize` counts them; at most `cacheLimitBytes`. */
  cacheBytes: number;
  cacheEntries: number;
  cacheLimitBytes: number;
  /** Live segment files. */
  segments: number;
  /** Group commits made since opening: batches written together, made durable by one fdatasync. */
  commits: number;
  snapshotIndex: number;
}

/** What `entrySize` adds to an entry's data. */
const ENTRY_OVERHEAD = entrySize({ term: 0, index: 0, type: "normal", data: new Uint8Array(0) });

/** @internal What {@link openFileStorage} hands a FileStorage. */
export interface FileStorageParts {
  dir: string;
  opts: ResolvedOptions;
  lock: DirLock;
  reader: SegmentReader;
  wal: WalWriter;
  log: LogIndex;
  hardState: HardState;
  snapshot: Snapshot;
  walSnapshot: SnapshotMeta;
}

/**
 * A {@link WritableStorage} on disk: a write-ahead log of segment files plus snapshot files,
 * with the semantics of core's MemoryStorage. Made by {@link openFileStorage}.
 *
 * Reads are synchronous and show what is durable: a batch becomes visible when its `save`
 * resolves. Recent entries are served from memory, older ones from disk through an index of
 * where each record lies. Writes from concurrent `save` and `compact` calls are applied in call
 * order and share fsyncs (group commit). A failed write or fsync is fatal for this instance, as
 * in etcd: after a failed fsync the kernel may have dropped the unsynced pages, so retrying could
 * report durable what is not. That save and every later write are refused with
 * {@link StorageFailedError} (reads go on); the node must restart, and reopening the directory
 * recovers what reached the disk.
 *
 * The storage keeps the entries and snapshots it is given by reference: the caller must not
 * change them afterwards.
 */
export class FileStorage implements WritableStorage {
  /** The directory this storage lives in. */
  readonly dir: string;
  readonly #opts: ResolvedOptions;
  readonly #lock: DirLock;
  readonly #reader: SegmentReader;
  readonly #wal: WalWriter;
  readonly #queue: CommitQueue<WalOp[]>;
  /** The durable state, which reads show. */
  readonly #log: LogIndex;
  readonly #cache: TailCache;
  #hardState: HardState;
  #snapshot: Snapshot;
  /** The snapshot the log records; differs from #snapshot.meta only when a damaged snapshot file was replaced by an older one. */
  #walSnapshot: SnapshotMeta;
  /** The state once everything queued is durable; batches are checked against it. */
  readonly #next: { log: TermLog; snapshot: SnapshotMeta };
  /** Snapshots whose file {@link prepareSnapshot} wrote: their save only records them in the log. */
  readonly #prepared = new WeakSet<Snapshot>();
  /** The snapshot file being written by {@link prepareSnapshot}, one at a time. */
  #preparing: Promise<void> = Promise.resolve();
  /** Set when writing a prepared snapshot failed: every write is refused from then on. */
  #failed: StorageFailedError | null = null;
  #closed = false;

  /** @internal Use {@link openFileStorage}. */
  constructor(parts: FileStorageParts) {
    this.dir = parts.dir;
    this.#opts = parts.opts;
    this.#lock = parts.lock;
    this.#reader = parts.reader;
    this.#wal = parts.wal;
    this.#log = parts.log;
    this.#cache = new TailCache(parts.opts.cacheBytes);
    this.#hardState = parts.hardState;
    this.#snapshot = parts.snapshot;
    this.#walSnapshot = parts.walSnapshot;
    this.#next = { log: parts.log.terms.clone(), snapshot: parts.snapshot.meta };
    this.#queue = new CommitQueue(
      (groups) => this.#flush(groups.length === 1 ? groups[0]! : groups.flat()),
      (err) => new StorageFailedError(this.dir, err),
      parts.opts.setImmediate,
    );
  }

  initialState(): InitialState {
    return { hardState: { ...this.#hardState }, confState: structuredClone(this.#snapshot.meta.confState) };
  }

  firstIndex(): number {
    return this.#log.firstIndex;
  }

  lastIndex(): number {
    return this.#log.lastIndex;
  }

  term(i: number): number {
    const t = this.#log.terms.term(i);
    if (t !== undefined) return t;
    if (i < this.#log.firstIndex) throw new CompactedError(i, this.#log.firstIndex);
    throw new UnavailableError(i, this.#log.lastIndex);
  }

  entries(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    const log = this.#log;
    if (lo < log.firstIndex) throw new CompactedError(lo, log.firstIndex);
    if (hi > log.lastIndex + 1) throw new UnavailableError(hi - 1, log.lastIndex);
    // The first entry is always returned, whatever maxBytes says, so that progress is possible.
    let size = 0;
    let i = lo;
    const diskEnd = Math.min(hi, this.#cache.firstIndex);
    for (; i < diskEnd; i++) {
      const s = ENTRY_OVERHEAD + log.recordLength(i) - ENTRY_HEADER;
      if (i > lo && size + s > maxBytes) break;
      size += s;
    }
    const out = i > lo ? this.#reader.entries(log, lo, i - lo) : [];
    if (i < diskEnd) return out;
    for (; i < hi; i++) {
      const e = this.#cache.get(i);
      const s = entrySize(e);
      if (i > lo && size + s > maxBytes) break;
      size += s;
      out.push(e);
    }
    return out;
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  /**
   * Makes `batch` durable, then visible; resolves only then. Applies the snapshot (keeping the
   * entries after it only if the log holds its last entry with the same term), then the
   * entries (replacing any at the same or later indexes), then the hard state.
   * Rejects with SnapshotOutOfDateError or UnavailableError (a gap before the entries) without
   * writing anything.
   */
  save(batch: StorageBatch): Promise<void> {
    const refused = this.#refusal();
    if (refused) return Promise.reject(refused);
    let ops: WalOp[];
    try {
      ops = this.#plan(batch);
    } catch (err) {
      return Promise.reject(err);
    }
    if (ops.length === 0) return this.#queue.drained();
    return this.#queue.push(ops);
  }

  /**
   * Writes the file of `snapshot` (to a temporary name, fsynced, renamed, the directory
   * fsynced) outside the log's write queue, so that saving it later does not hold up the
   * entries saved meanwhile for the file's fsyncs. The file means nothing until
   * `save({ snapshot })` records it in the log: recovery removes one the log does not name.
   * Pass the same object to `save`.
   */
  prepareSnapshot(snapshot: Snapshot): Promise<void> {
    const refused = this.#refusal();
    if (refused) return Promise.reject(refused);
    const write = this.#preparing.then(() =>
      writeSnapshotFile(
        this.#opts.vfs,
        this.dir,
        snapshot,
        this.#opts.sync,
        () => new Promise((resolve) => this.#opts.setImmediate(resolve)),
      ).then(
        () => void this.#prepared.add(snapshot),
        (err: unknown) => {
          // As for the log: after a failed write or fsync, what the disk holds is unknown.
          this.#failed ??= new StorageFailedError(this.dir, err);
          throw this.#failed;
        },
      ),
    );
    this.#preparing = write.catch(() => {});
    return write;
  }

  /**
   * Discards the entries up to and including `index` (which must not pass the latest snapshot),
   * then deletes the segment files and older snapshots no longer needed. Resolves once durable.
   */
  compact(index: number): Promise<void> {
    const refused = this.#refusal();
    if (refused) return Promise.reject(refused);
    const next = this.#next;
    if (index <= next.log.compactedIndex) return Promise.resolve();
    if (index > next.snapshot.index) return Promise.reject(new UnavailableError(index, next.snapshot.index));
    const term = next.log.term(index)!;
    next.log.compact(index, term);
    return this.#queue.push([{ kind: "compact", index, term }]);
  }

  /** Waits for queued writes, then closes the files and releases the directory. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.drained().catch(() => {});
    await this.#preparing;
    this.#reader.close();
    try {
      await this.#wal.close();
    } finally {
      await this.#lock.release();
    }
  }

  stats(): FileStorageStats {
    return {
      cacheBytes: this.#cache.bytes,
      cacheEntries: this.#cache.size,
      cacheLimitBytes: this.#opts.cacheBytes,
      segments: this.#wal.segments.length,
      commits: this.#wal.frames,
      snapshotIndex: this.#snapshot.meta.index,
    };
  }

  #refusal(): Error | null {
    if (this.#closed) return new StorageClosedError(this.dir);
    return this.#queue.failure ?? this.#failed;
  }

  /** Turns a batch into ops, checked against the state after everything queued; then applies them to that state. */
  #plan(batch: StorageBatch): WalOp[] {
    const next = this.#next;
    let compacted = next.log.compactedIndex;
    let last = next.log.lastIndex;
    const ops: WalOp[] = [];
    const snap = batch.snapshot;
    if (snap) {
      if (snap.meta.index < next.snapshot.index)
        throw new SnapshotOutOfDateError(snap.meta.index, next.snapshot.index);
      const dropLog = next.log.term(snap.meta.index) !== snap.meta.term;
      if (dropLog) compacted = last = snap.meta.index;
      ops.push({ kind: "snapshot", snapshot: snap, dropLog });
    }
    const given = batch.entries ?? [];
    for (let k = 1; k < given.length; k++) {
      if (given[k]!.index !== given[k - 1]!.index + 1) {
        throw new RangeError(
          `save: entries must have consecutive indexes, got ${given[k - 1]!.index} then ${given[k]!.index}`,
        );
      }
    }
    const first = given[0];
    if (first && first.index + given.length - 1 > compacted) {
      // A copy (without what is compacted already): the caller's array is written later, and may change.
      const ents = given.slice(Math.max(0, compacted + 1 - first.index));
      const from = ents[0]!.index;
      if (from > last + 1) throw new UnavailableError(from, last);
      if (from <= last) ops.push({ kind: "truncate", after: from - 1 });
      ops.push({ kind: "entries", entries: ents });
    }
    if (batch.hardState) ops.push({ kind: "hardState", hardState: { ...batch.hardState } });
    for (const op of ops) applyToTerms(next.log, op);
    if (snap) next.snapshot = snap.meta;
    return ops;
  }

  async #flush(ops: WalOp[]): Promise<void> {
    for (const op of ops) {
      if (op.kind === "snapshot" && !this.#prepared.has(op.snapshot))
        await writeSnapshotFile(
          this.#opts.vfs,
          this.dir,
          op.snapshot,
          this.#opts.sync,
          () => new Promise((resolve) => this.#opts.setImmediate(resolve)),
        );
    }
    const compacted = this.#log.terms.compactedIndex;
    const started = performance.now();
    const placed = await this.#wal.append(ops, () =>
      segmentState(this.#log, this.#hardState, this.#walSnapshot),
    );
    let entries = 0;
    for (const op of ops) if (op.kind === "entries") entries += op.entries.length;
    this.#opts.onSync({
      durationMs: performance.now() - started,
      entries,
      bytes: frameByteLength(ops),
    });
    this.#applyDurable(ops, placed);
    if (this.#log.terms.compactedIndex > compacted) await this.#removeCovered();
  }

  #applyDurable(ops: readonly WalOp[], placed: Placement): void {
    let k = 0;
    for (const op of ops) {
      switch (op.kind) {
        case "entries":
          for (const e of op.entries) {
            this.#log.append(
              e.index,
              e.term,
              placed.seq,
              placed.entryOffsets[k++]!,
              ENTRY_HEADER + e.data.byteLength,
            );
          }
          this.#cache.append(op.entries);
          break;
        case "hardState":
          this.#hardState = op.hardState;
          break;
        case "snapshot":
          this.#snapshot = op.snapshot;
          this.#walSnapshot = op.snapshot.meta;
          if (op.dropLog) {
            this.#log.reset(op.snapshot.meta.index, op.snapshot.meta.term);
            this.#cache.clear();
          }
          break;
        case "truncate":
          this.#log.truncate(op.after);
          this.#cache.truncate(op.after);
          break;
        case "compact":
          this.#log.compact(op.index, op.term);
          this.#cache.compact(op.index);
          break;
        case "state":
          break;
      }
    }
  }

  /** Deletes the segments and snapshot files the log no longer needs. A failure here loses nothing, so it is only logged. */
  async #removeCovered(): Promise<void> {
    const compacted = this.#log.terms.compactedIndex;
    try {
      for (const s of await this.#wal.removeCovered(compacted)) this.#reader.remove(s.seq);
      for (const name of await this.#opts.vfs.readdir(this.dir)) {
        const s = parseSnapshotFileName(name);
        if (s && s.index < compacted) await this.#opts.vfs.unlink(path.join(this.dir, name));
      }
    } catch (err) {
      this.#opts.logger.warn(
        `store-fs ${this.dir}: could not delete files the log no longer needs: ${String(err)}`,
      );
    }
  }
}

function applyToTerms(log: TermLog, op: WalOp): void {
  switch (op.kind) {
    case "entries":
      for (const e of op.entries) log.append(e.index, e.term);
      break;
    case "snapshot":
      if (op.dropLog) log.reset(op.snapshot.meta.index, op.snapshot.meta.term);
      break;
    case "truncate":
      log.truncate(op.after);
      break;
    case "compact":
      log.compact(op.index, op.term);
      break;
    case "hardState":
    case "state":
      break;
  }
}

/** @internal The state a new segment starts from. */
export function segmentState(log: LogIndex, hardState: HardState, snapshot: SnapshotMeta): SegmentState {
  const t = log.terms;
  return {
    hardState,
    snapshot: { index: snapshot.index, term: snapshot.term, confState: snapshot.confState },
    compacted: { index: t.compactedIndex, term: t.compactedTerm },
    last: { index: t.lastIndex, term: t.term(t.lastIndex)! },
  };
}
