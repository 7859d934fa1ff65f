import { SECTOR } from "../wal/tornWrite.js";

/** A write not yet made durable, with what it replaced, so that a crash can undo it. */
interface UnsyncedWrite {
  position: number;
  /** The bytes it overwrote (those below the file's length then). */
  before: Uint8Array;
  lengthBefore: number;
}

/** What a crash kept of a file's last unsynced write. */
export interface Tear {
  position: number;
  /** Bytes of the write that reached the disk, a prefix ending on a sector boundary (or the write's end). */
  kept: number;
  /** The write's length. */
  length: number;
}

/**
 * The bytes of a simulated file: what reads see now, and the writes since the last datasync,
 * newest last, from which the durable bytes are rebuilt. A datasync forgets them (O(1)), so a
 * large preallocated file costs no copy per fsync.
 */
export class FileContent {
  #bytes: Uint8Array = new Uint8Array(0);
  #length = 0;
  #unsynced: UnsyncedWrite[] = [];
  /** The data of the last unsynced write, which a crash may keep a prefix of. */
  #lastWrite: { position: number; data: Uint8Array } | null = null;

  get length(): number {
    return this.#length;
  }

  /** Whether some written bytes are not durable yet. */
  get volatile(): boolean {
    return this.#unsynced.length > 0;
  }

  read(buffer: Uint8Array, offset: number, length: number, position: number): number {
    const n = Math.max(0, Math.min(length, this.#length - position));
    buffer.set(this.#bytes.subarray(position, position + n), offset);
    return n;
  }

  /** A copy of what reads see. */
  bytes(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }

  write(data: Uint8Array, position: number): void {
    const end = position + data.byteLength;
    this.#unsynced.push({
      position,
      before: this.#bytes.slice(position, Math.min(end, this.#length)),
      lengthBefore: this.#length,
    });
    this.#lastWrite = { position, data: Uint8Array.from(data) };
    this.#put(data, position);
  }

  datasync(): void {
    this.#unsynced = [];
    this.#lastWrite = null;
  }

  /** A copy of the durable bytes: what a crash that tears nothing leaves. */
  durable(): Uint8Array {
    const copy = new FileContent();
    copy.#bytes = this.bytes();
    copy.#length = this.#length;
    copy.#unsynced = this.#unsynced;
    copy.#revert();
    return copy.bytes();
  }

  /**
   * Drops every unsynced write, then puts back a prefix of the last one, cut at a sector
   * boundary drawn from `random` (all of it, none, or any boundary inside it).
   */
  crash(random: () => number): Tear | null {
    const last = this.#lastWrite;
    this.#revert();
    this.datasync();
    if (!last) return null;
    const { position, data } = last;
    const end = position + data.byteLength;
    const cuts = [position];
    for (let b = (Math.floor(position / SECTOR) + 1) * SECTOR; b < end; b += SECTOR) cuts.push(b);
    if (end > position) cuts.push(end);
    const cut = cuts[Math.floor(random() * cuts.length)]!;
    if (cut > position) this.#put(data.subarray(0, cut - position), position);
    return { position, kept: cut - position, length: data.byteLength };
  }

  /** Flips bits of the byte at `offset`, in what reads see and in what is durable alike (media damage). */
  flip(offset: number, mask: number): void {
    if (offset >= this.#length) throw new RangeError(`offset ${offset} is past the end (${this.#length})`);
    this.#bytes[offset]! ^= mask;
    for (const w of this.#unsynced) {
      const i = offset - w.position;
      if (i >= 0 && i < w.before.byteLength) w.before[i]! ^= mask;
    }
  }

  #revert(): void {
    for (let k = this.#unsynced.length - 1; k >= 0; k--) {
      const w = this.#unsynced[k]!;
      this.#setLength(w.lengthBefore);
      this.#bytes.set(w.before, w.position);
    }
    this.#unsynced = [];
  }

  #put(data: Uint8Array, position: number): void {
    const end = position + data.byteLength;
    if (end > this.#bytes.byteLength) {
      const grown = new Uint8Array(Math.max(end, this.#bytes.byteLength * 2));
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
    }
    this.#bytes.set(data, position);
    if (end > this.#length) this.#length = end;
  }

  /** Shortens or keeps the length; bytes past it are zeroed, so that a later extension reads zeros. */
  #setLength(n: number): void {
    if (n < this.#length) this.#bytes.fill(0, n, this.#length);
    this.#length = n;
  }
}
