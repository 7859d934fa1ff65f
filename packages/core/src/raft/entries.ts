import type { Entry } from "./types.js";

/** Fixed per-entry cost (term, index, type) counted toward size limits, besides the payload. */
const ENTRY_OVERHEAD = 24;

/** The size an entry counts for in byte limits (maxSizePerMsg, inflight bytes, uncommitted size). */
export function entrySize(e: Entry): number {
  return ENTRY_OVERHEAD + e.data.byteLength;
}

/** The payload bytes an entry adds to the uncommitted-size budget; a leader's empty entry costs nothing. */
export function payloadSize(entries: readonly Entry[]): number {
  let n = 0;
  for (const e of entries) n += e.data.byteLength;
  return n;
}

export function entriesSize(entries: readonly Entry[]): number {
  let n = 0;
  for (const e of entries) n += entrySize(e);
  return n;
}

/**
 * The longest prefix of `entries` whose size is at most `maxBytes`, but never fewer than one
 * entry, so that progress is always possible.
 */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length === 0) return entries;
  let size = entrySize(entries[0]!);
  let n = 1;
  for (; n < entries.length; n++) {
    size += entrySize(entries[n]!);
    if (size > maxBytes) break;
  }
  return n === entries.length ? entries : entries.slice(0, n);
}
