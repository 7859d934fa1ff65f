import type { Entry } from "@raftkit/core";
import { CorruptWalError } from "../errors.js";
import type { LogIndex } from "../logIndex.js";
import type { Vfs, VfsReadFile } from "../vfs.js";
import { decodeEntry, RecordError } from "./record.js";

/** Entries closer than this on disk are fetched with one read (what lies between is skipped). */
const MAX_GAP = 16 * 1024;
/** One read fetches at most this much, unless a single entry is larger. */
const MAX_SPAN = 1024 * 1024;

/**
 * Reads entry records from segment files, synchronously, through a small cache of open files
 * (least recently used closed first).
 */
export class SegmentReader {
  readonly #vfs: Vfs;
  readonly #paths = new Map<number, string>();
  readonly #fds = new Map<number, VfsReadFile>();
  readonly #maxOpen: number;

  constructor(vfs: Vfs, maxOpen = 16) {
    this.#vfs = vfs;
    this.#maxOpen = maxOpen;
  }

  /** Makes segment `seq` readable at `path`. */
  add(seq: number, path: string): void {
    this.#paths.set(seq, path);
  }

  /** Forgets a deleted segment, closing its descriptor. */
  remove(seq: number): void {
    const fd = this.#fds.get(seq);
    fd?.close();
    this.#fds.delete(seq);
    this.#paths.delete(seq);
  }

  close(): void {
    for (const fd of this.#fds.values()) fd.close();
    this.#fds.clear();
  }

  /** Reads entries [lo, lo + count) of `log`, checking each record's CRC. */
  entries(log: LogIndex, lo: number, count: number): Entry[] {
    const out: Entry[] = [];
    let i = lo;
    while (i < lo + count) {
      // Extend the span while the next record is in the same segment and close by.
      const first = log.location(i);
      let end = first.offset + first.length;
      let j = i + 1;
      for (; j < lo + count; j++) {
        const next = log.location(j);
        if (
          next.seq !== first.seq ||
          next.offset - end > MAX_GAP ||
          next.offset + next.length - first.offset > MAX_SPAN
        )
          break;
        end = next.offset + next.length;
      }
      const buf = this.#read(first.seq, first.offset, end - first.offset);
      for (let k = i; k < j; k++) {
        const loc = k === i ? first : log.location(k);
        out.push(
          this.#decode(
            buf.subarray(loc.offset - first.offset, loc.offset - first.offset + loc.length),
            k,
            loc.seq,
            loc.offset,
          ),
        );
      }
      i = j;
    }
    return out;
  }

  #decode(buf: Buffer, index: number, seq: number, offset: number): Entry {
    try {
      const e = decodeEntry(buf);
      if (e.index !== index)
        throw new RecordError(8, `holds entry ${e.index} where entry ${index} was written`);
      return e;
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      throw new CorruptWalError(
        this.#path(seq),
        offset + err.offset,
        `entry ${index}: ${err.message} (the file changed after it was written)`,
      );
    }
  }

  #read(seq: number, offset: number, length: number): Buffer {
    const fd = this.#fd(seq);
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = fd.read(buf, done, length - done, offset + done);
      if (n === 0) {
        throw new CorruptWalError(
          this.#path(seq),
          offset + done,
          "the file ends before an entry that it held",
        );
      }
      done += n;
    }
    return buf;
  }

  #fd(seq: number): VfsReadFile {
    let fd = this.#fds.get(seq);
    if (fd !== undefined) {
      this.#fds.delete(seq);
      this.#fds.set(seq, fd);
      return fd;
    }
    if (this.#fds.size >= this.#maxOpen) {
      const [oldSeq, oldFd] = this.#fds.entries().next().value as [number, VfsReadFile];
      oldFd.close();
      this.#fds.delete(oldSeq);
    }
    fd = this.#vfs.openForReading(this.#path(seq));
    this.#fds.set(seq, fd);
    return fd;
  }

  #path(seq: number): string {
    const p = this.#paths.get(seq);
    if (p === undefined) throw new Error(`SegmentReader: segment ${seq} is not known`);
    return p;
  }
}
