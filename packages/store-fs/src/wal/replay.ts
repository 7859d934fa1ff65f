import path from "node:path";
import { emptyConfState, type HardState, type Logger, type SnapshotMeta } from "@raftkit/core";
import { CorruptWalError } from "../errors.js";
import { LogIndex } from "../logIndex.js";
import type { Vfs } from "../vfs.js";
import { anyFrameFrom, nonZeroEnd, readFrame, SEGMENT_HEADER, segmentHeaderProblem } from "./frame.js";
import { type DecodedRecord, RecordError, readRecords, type SegmentState } from "./record.js";
import { damageUnlikeTornWrite } from "./tornWrite.js";
import type { ActiveSegment, Segment } from "./writer.js";

/** The log as the segments describe it. */
export interface Replayed {
  log: LogIndex;
  hardState: HardState;
  /** The latest snapshot the log recorded. */
  snapshot: SnapshotMeta;
  segments: Segment[];
  /** The last segment, where appends continue (after any torn tail was cut). */
  tail: ActiveSegment;
}

/**
 * Replays segments (consecutive sequence numbers, oldest first) into a {@link LogIndex}.
 *
 * A bad frame at the end of the last segment, with nothing sound after it, that looks as a
 * crash leaves a write (short, or a sector of it still zero: see {@link damageUnlikeTornWrite})
 * was never acknowledged: it is cut off and the cut logged. Any other bad frame or record (a
 * flipped bit in the last frame included: it was fsynced and may have been acknowledged), a gap
 * in the segment numbers, or entries that exist nowhere, throws {@link CorruptWalError}.
 */
export async function replaySegments(
  dir: string,
  names: readonly { seq: number; name: string }[],
  vfs: Vfs,
  logger: Logger,
): Promise<Replayed> {
  const r = new Replay();
  const segments: Segment[] = [];
  let tail: ActiveSegment = { size: 0, fileLength: 0, hasFrames: false };
  for (const [k, { seq, name }] of names.entries()) {
    const file = path.join(dir, name);
    const prev = names[k - 1];
    if (prev && prev.seq + 1 !== seq)
      throw new CorruptWalError(file, 0, `segment ${prev.seq + 1} is missing`);
    const buf = await vfs.readFile(file);
    const headerProblem = segmentHeaderProblem(buf, seq);
    if (headerProblem) throw new CorruptWalError(file, 0, headerProblem);
    const segment: Segment = { seq, path: file, maxIndex: 0 };
    const isLast = k === names.length - 1;
    let at = SEGMENT_HEADER;
    let frames = 0;
    while (at < buf.byteLength) {
      const f = readFrame(buf, at, seq);
      if (!f.ok) {
        // Zeros to the end are space preallocated for frames to come.
        const end = nonZeroEnd(buf, at);
        if (end === at) break;
        if (!isLast || frames === 0) throw new CorruptWalError(file, at, `${f.problem} inside the log`);
        if (anyFrameFrom(buf, at + 8, seq)) {
          throw new CorruptWalError(file, at, `${f.problem}, with sound records after it`);
        }
        const damage = damageUnlikeTornWrite(buf, at, seq, f.kind);
        if (damage) throw new CorruptWalError(file, at, `${damage} at the end of the log`);
        logger.warn(
          `store-fs ${dir}: ${name}: cut ${end - at} bytes at offset ${at} (${f.problem}): ` +
            "a write torn by a crash, never acknowledged",
        );
        await zero(vfs, file, at, end);
        break;
      }
      let records = 0;
      try {
        for (const rec of readRecords(buf, f.recordsStart, f.recordsEnd, 0)) {
          r.apply(rec, frames === 0, segment);
          records++;
        }
      } catch (err) {
        if (err instanceof RecordError) throw new CorruptWalError(file, err.offset, err.message);
        if (err instanceof ReplayError) throw new CorruptWalError(file, at, err.message);
        throw err;
      }
      if (frames === 0 && records !== 1)
        throw new CorruptWalError(file, at, "the segment does not start with its state");
      frames++;
      at = f.next;
    }
    if (frames === 0) throw new CorruptWalError(file, at, "the segment holds no records");
    segments.push(segment);
    tail = { size: at, fileLength: buf.byteLength, hasFrames: frames > 1 };
  }
  if (r.pretend) {
    const first = names[0]!;
    throw new CorruptWalError(
      path.join(dir, first.name),
      0,
      `entries up to ${r.log.terms.compactedIndex} are neither in a snapshot nor in any segment (segments before ${first.seq} were deleted)`,
    );
  }
  return { log: r.log, hardState: r.hardState, snapshot: r.snapshot, segments, tail };
}

/** Overwrites a torn write with zeros, so the segment ends cleanly (and keeps any preallocated space). */
async function zero(vfs: Vfs, file: string, from: number, to: number): Promise<void> {
  const handle = await vfs.open(file, "r+");
  try {
    await handle.write(Buffer.alloc(to - from), from);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

class ReplayError extends Error {}

class Replay {
  readonly log = new LogIndex();
  hardState: HardState = { term: 0, vote: null, commit: 0 };
  snapshot: SnapshotMeta = { index: 0, term: 0, confState: emptyConfState() };
  started = false;
  /**
   * Set while the log's start is not a real compaction point: the first segment left began when
   * entries up to its `last` were in segments since deleted. Replay continues as if they were
   * compacted; a later compaction or snapshot must cover them.
   */
  pretend = false;

  apply(rec: DecodedRecord, segmentStart: boolean, segment: Segment): void {
    if ((rec.kind === "state") !== segmentStart) {
      throw new ReplayError(
        segmentStart
          ? "the segment does not start with its state"
          : "a segment state record inside a segment",
      );
    }
    const log = this.log;
    switch (rec.kind) {
      case "state":
        this.#start(rec.state);
        break;
      case "entry":
        if (rec.index !== log.lastIndex + 1)
          throw new ReplayError(`entry ${rec.index} follows entry ${log.lastIndex}`);
        log.append(rec.index, rec.term, segment.seq, rec.offset, rec.length);
        if (rec.index > segment.maxIndex) segment.maxIndex = rec.index;
        break;
      case "hardState":
        this.hardState = rec.hardState;
        break;
      case "snapshot":
        this.snapshot = rec.meta;
        if (rec.dropLog) {
          log.reset(rec.meta.index, rec.meta.term);
          this.pretend = false;
        }
        break;
      case "truncate":
        if (rec.after > log.lastIndex)
          throw new ReplayError(`truncation after ${rec.after} beyond the log's end ${log.lastIndex}`);
        if (rec.after >= log.terms.compactedIndex) log.truncate(rec.after);
        else if (this.pretend) log.reset(rec.after, Number.NaN);
        else throw new ReplayError(`truncation after ${rec.after} below the log's start ${log.firstIndex}`);
        break;
      case "compact":
        if (rec.index > log.lastIndex)
          throw new ReplayError(`compaction to ${rec.index} beyond the log's end ${log.lastIndex}`);
        if (rec.index >= log.terms.compactedIndex) {
          log.compact(rec.index, rec.term);
          this.pretend = false;
        } else if (!this.pretend) {
          throw new ReplayError(`compaction to ${rec.index} below the log's start ${log.firstIndex}`);
        }
        break;
    }
  }

  #start(s: SegmentState): void {
    if (!this.started) {
      this.started = true;
      this.hardState = s.hardState;
      this.snapshot = s.snapshot;
      this.log.reset(s.last.index, s.last.index === s.compacted.index ? s.compacted.term : s.last.term);
      this.pretend = s.last.index !== s.compacted.index;
      return;
    }
    const log = this.log;
    const same =
      s.last.index === log.lastIndex &&
      s.snapshot.index === this.snapshot.index &&
      s.hardState.term === this.hardState.term &&
      s.hardState.vote === this.hardState.vote &&
      s.hardState.commit === this.hardState.commit &&
      (this.pretend || s.compacted.index === log.terms.compactedIndex);
    if (!same) throw new ReplayError("the segment's starting state differs from the log before it");
  }
}
