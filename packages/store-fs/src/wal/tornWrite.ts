import { align8 } from "../bytes.js";
import { FRAME_HEADER, type FrameProblem, frameCrcOf, nonZeroEnd } from "./frame.js";

/** The unit a disk writes atomically (etcd's `minSectorSize`): a crash leaves each sector of a write new or old. */
export const SECTOR = 512;

/**
 * Whether the bad frame at `at`, with nothing sound after it in the last segment, can be a write
 * that a crash tore: null if it can, else what damage it is.
 *
 * A frame is only ever written over zeros (preallocated space, or a tail a previous recovery
 * zeroed) or past the end of the file, and is fsynced before the next is written. So a crash
 * leaves the last frame with each of its sectors either written or still zero, or the file
 * ending inside it. As etcd's WAL decoder does (`isTornEntry`), a frame is torn if the file ends
 * inside it or one of its sectors is all zeros. Damage to bytes that were durable instead
 * shows as a header no writer makes, non-zero padding after a sound frame, a checksum mismatch
 * in a frame with every sector written, or a length field one bit away from a length at which
 * the frame is sound (a flipped length can point past the end of the file, or into zeros).
 *
 * NB: a frame that holds a sector-sized run of zeros of its own (zeroed entry data), damaged
 * elsewhere, still reads as torn: the zero-sector rule cannot tell. etcd has the same blind spot.
 */
export function damageUnlikeTornWrite(
  buf: Buffer,
  at: number,
  seq: number,
  kind: FrameProblem,
): string | null {
  switch (kind) {
    case "cut":
    case "zeros":
      return null;
    case "header":
      return "a frame header that no write makes, whole or torn";
    case "padding":
      return "non-zero padding after a frame whose checksum holds";
    case "pastEnd":
    case "checksum": {
      if (lengthBitFlipped(buf, at, seq)) {
        return "a frame whose length field differs by one bit from the length at which its checksum holds";
      }
      if (kind === "pastEnd") return null;
      const end = at + FRAME_HEADER + buf.readUInt32LE(at + 4);
      return zeroSector(buf, at, end)
        ? null
        : "frame checksum mismatch in a frame written whole (none of its sectors is zero)";
    }
  }
}

/** Whether some sector's share of `buf[from, to)` (cut at file offsets that are multiples of {@link SECTOR}) is all zeros. */
export function zeroSector(buf: Buffer, from: number, to: number): boolean {
  const end = Math.min(to, buf.byteLength);
  for (let start = from; start < end; ) {
    const stop = Math.min(end, (Math.floor(start / SECTOR) + 1) * SECTOR);
    let zero = true;
    for (let i = start; i < stop && zero; i++) zero = buf[i] === 0;
    if (zero) return true;
    start = stop;
  }
  return false;
}

/**
 * Whether the frame at `at` is sound once one bit of its length field is flipped back. Only
 * lengths ending within a sector past the last non-zero byte are tried: a frame ends there,
 * unless its own bytes end in zeros, and the search stays cheap in a large preallocated segment.
 */
function lengthBitFlipped(buf: Buffer, at: number, seq: number): boolean {
  const stored = buf.readUInt32LE(at + 8);
  const limit = Math.min(buf.byteLength, align8(nonZeroEnd(buf, at)) + SECTOR);
  const head = Buffer.from(buf.subarray(at, at + 8));
  const length = buf.readUInt32LE(at + 4);
  for (let bit = 0; bit < 32; bit++) {
    const candidate = (length ^ (1 << bit)) >>> 0;
    if (align8(at + FRAME_HEADER + candidate) > limit) continue;
    head.writeUInt32LE(candidate, 4);
    if (frameCrcOf(head, buf, at, candidate, seq, at) === stored) return true;
  }
  return false;
}
