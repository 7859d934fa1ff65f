import path from "node:path";
import type { Logger } from "@raftkit/core";
import type { Vfs, VfsFile } from "../vfs.js";
import { encodeFrame, encodeSegmentHeader, frameByteLength, SEGMENT_HEADER } from "./frame.js";
import { Preallocator, type PreparedFile } from "./preallocator.js";
import type { SegmentState, WalOp } from "./record.js";
import { segmentFileName } from "./segmentName.js";

/** Frames up to this size are encoded in one reused buffer. */
const MAX_SCRATCH = 8 * 1024 * 1024;
/** The next segment is prepared once the active one holds this much (or half its size, if less). */
const PREPARE_AFTER = 1024 * 1024;

/** A segment file of the log. */
export interface Segment {
  seq: number;
  path: string;
  /** The highest entry index written into it; 0 if none. */
  maxIndex: number;
}

export interface WalWriterOptions {
  dir: string;
  vfs: Vfs;
  segmentBytes: number;
  sync: boolean;
  logger: Logger;
  /** Called when a new segment file exists, before anything is written to it beyond its start. */
  onSegment(segment: Segment): void;
}

/** Where {@link WalWriter.append} put a frame's entries. */
export interface Placement {
  seq: number;
  /** The file offset of each entry record, in the order of the ops. */
  entryOffsets: number[];
}

/** The active segment as {@link WalWriter.resume} continues it. */
export interface ActiveSegment {
  /** Where its frames end. */
  size: number;
  /** The file's length: beyond `size` it holds zeros (preallocated space). */
  fileLength: number;
  /** Whether it holds frames besides its starting state. */
  hasFrames: boolean;
}

/**
 * Appends frames to the last segment and starts a new segment when it is full.
 *
 * A new segment is made under a temporary name (header, then a record of the state the log is
 * in), fsynced, renamed into place and the directory fsynced, as etcd's `cut()` does: a segment
 * file either is complete from its first byte or does not exist. With `sync` on, segments are
 * preallocated (see {@link Preallocator}); a segment that was not (the first, or one started
 * while none was ready) is left for a preallocated one as soon as one is ready.
 */
export class WalWriter {
  readonly #opts: WalWriterOptions;
  readonly #segments: Segment[];
  readonly #prealloc: Preallocator | null;
  #file: VfsFile;
  #size: number;
  #fileLength: number;
  #hasFrames: boolean;
  #scratch = Buffer.allocUnsafe(64 * 1024);
  #frames = 0;

  private constructor(opts: WalWriterOptions, segments: Segment[], file: VfsFile, active: ActiveSegment) {
    this.#opts = opts;
    this.#segments = segments;
    this.#file = file;
    this.#size = active.size;
    this.#fileLength = active.fileLength;
    this.#hasFrames = active.hasFrames;
    this.#prealloc = opts.sync ? new Preallocator(opts.dir, opts.vfs, opts.segmentBytes, opts.logger) : null;
  }

  /** Starts the log of a new directory with segment 1. */
  static async create(opts: WalWriterOptions, state: SegmentState): Promise<WalWriter> {
    const { segment, file, size } = await startSegment(opts, 1, state, null);
    opts.onSegment(segment);
    return new WalWriter(opts, [segment], file, { size, fileLength: size, hasFrames: false });
  }

  /** Continues the log whose last segment is the last of `segments`. */
  static async resume(
    opts: WalWriterOptions,
    segments: Segment[],
    active: ActiveSegment,
  ): Promise<WalWriter> {
    const file = await opts.vfs.open(segments[segments.length - 1]!.path, "r+");
    return new WalWriter(opts, segments, file, active);
  }

  /** How many frames (group commits, one fdatasync each) this writer has written. */
  get frames(): number {
    return this.#frames;
  }

  /** The live segments, oldest first; the last is the one written to. */
  get segments(): readonly Segment[] {
    return this.#segments;
  }

  /**
   * Writes `ops` as one frame and makes it durable. `state` is the log's state before `ops`,
   * asked for only if a new segment must start with it.
   *
   * If this rejects, the file's contents past the last durable frame are unknown: the caller
   * must not write again.
   */
  async append(ops: readonly WalOp[], state: () => SegmentState): Promise<Placement> {
    const size = frameByteLength(ops);
    const full = this.#size + size > this.#opts.segmentBytes;
    const unallocated = this.#fileLength < this.#opts.segmentBytes && this.#prealloc?.ready === true;
    if (this.#hasFrames && (full || unallocated)) await this.#roll(state());
    const active = this.#segments[this.#segments.length - 1]!;
    const bytes = this.#frameBuffer(size);
    const entryOffsets = encodeFrame(active.seq, this.#size, ops, bytes);
    // A small write is made on the spot (see nodeVfs): then the fsync is queued in the same turn.
    const written = this.#file.write(bytes, this.#size);
    if (written) await written;
    if (this.#opts.sync) await this.#file.datasync();
    this.#size += size;
    this.#frames++;
    this.#fileLength = Math.max(this.#fileLength, this.#size);
    this.#hasFrames = true;
    for (const op of ops) {
      const last = op.kind === "entries" ? op.entries[op.entries.length - 1] : undefined;
      if (last && last.index > active.maxIndex) active.maxIndex = last.index;
    }
    if (this.#size >= Math.min(PREPARE_AFTER, this.#opts.segmentBytes / 2)) this.#prealloc?.start();
    return { seq: active.seq, entryOffsets };
  }

  /**
   * Deletes the oldest segments while every entry they hold is at or below `compactedIndex`
   * (never the active one). Returns the deleted segments.
   */
  async removeCovered(compactedIndex: number): Promise<Segment[]> {
    const removed: Segment[] = [];
    while (this.#segments.length > 1 && this.#segments[0]!.maxIndex <= compactedIndex) {
      const s = this.#segments[0]!;
      await this.#opts.vfs.unlink(s.path);
      this.#segments.shift();
      removed.push(s);
    }
    if (removed.length > 0 && this.#opts.sync) await this.#opts.vfs.syncDir(this.#opts.dir);
    return removed;
  }

  async close(): Promise<void> {
    try {
      await this.#prealloc?.close();
    } finally {
      await this.#file.close();
    }
  }

  /**
   * A buffer to encode a frame in. One buffer is reused, because a frame is written and synced
   * before the next is encoded, and a fresh buffer per batch costs more in garbage collection
   * than the encoding itself.
   */
  #frameBuffer(size: number): Buffer {
    if (size > MAX_SCRATCH) return Buffer.allocUnsafe(size);
    if (this.#scratch.byteLength < size) this.#scratch = Buffer.allocUnsafe(2 ** Math.ceil(Math.log2(size)));
    return this.#scratch.subarray(0, size);
  }

  async #roll(state: SegmentState): Promise<void> {
    const prev = this.#segments[this.#segments.length - 1]!;
    const prepared = this.#prealloc?.take() ?? null;
    const { segment, file, size } = await startSegment(this.#opts, prev.seq + 1, state, prepared);
    this.#opts.onSegment(segment);
    this.#segments.push(segment);
    const old = this.#file;
    this.#file = file;
    this.#size = size;
    this.#fileLength = Math.max(size, prepared?.length ?? 0);
    this.#hasFrames = false;
    await old.close();
  }
}

/** Makes segment `seq` starting with `state`, in `prepared` if given, else in a new file. */
async function startSegment(
  opts: WalWriterOptions,
  seq: number,
  state: SegmentState,
  prepared: PreparedFile | null,
): Promise<{ segment: Segment; file: VfsFile; size: number }> {
  const file = path.join(opts.dir, segmentFileName(seq, state.last.index + 1));
  const tmp = prepared?.path ?? `${file}.tmp`;
  const ops: WalOp[] = [{ kind: "state", state }];
  const start = Buffer.alloc(SEGMENT_HEADER + frameByteLength(ops));
  encodeSegmentHeader(seq, state.last.index + 1).copy(start);
  encodeFrame(seq, SEGMENT_HEADER, ops, start.subarray(SEGMENT_HEADER));
  const handle = prepared?.file ?? (await opts.vfs.open(tmp, "wx"));
  try {
    await handle.write(start, 0);
    if (opts.sync) await handle.datasync();
    await opts.vfs.rename(tmp, file);
    if (opts.sync) await opts.vfs.syncDir(opts.dir);
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
  return { segment: { seq, path: file, maxIndex: 0 }, file: handle, size: start.byteLength };
}
