/**
 * Segment files are named `<seq>-<firstIndex>.wal`, both zero-padded to 20 digits, so that
 * names sort in the order the segments were written. The sequence number comes first because
 * the first index alone does not order them: after a leader overwrites this node's tail, a new
 * segment may start below the index where the previous one started.
 */
export interface SegmentName {
  seq: number;
  /** The log's last index + 1 when the segment was started (informational). */
  firstIndex: number;
}

const PATTERN = /^(\d{20})-(\d{20})\.wal$/;

export function segmentFileName(seq: number, firstIndex: number): string {
  return `${pad(seq)}-${pad(firstIndex)}.wal`;
}

/** The segment a file name denotes, or null if it is not a segment's name. */
export function parseSegmentFileName(name: string): SegmentName | null {
  const m = PATTERN.exec(name);
  if (!m) return null;
  return { seq: Number(m[1]), firstIndex: Number(m[2]) };
}

export function pad(n: number): string {
  return String(n).padStart(20, "0");
}
