import type { NodeId } from "../raft/types.js";
import type { SnapshotBytes } from "./stateMachine.js";

/**
 * The snapshot the runtime stores: the members' addresses (which the log no longer holds once
 * compacted) and the application's own snapshot. Layout: "RKS1", u32 length, JSON, app bytes.
 */
const MAGIC = [0x52, 0x4b, 0x53, 0x31];
const enc = new TextEncoder();
const dec = new TextDecoder();

export interface RuntimeSnapshot {
  addresses: Record<NodeId, string>;
  app: Uint8Array;
}

/** Bytes copied between two turns of the event loop when joining a large snapshot. */
const JOIN_PIECE_BYTES = 1024 * 1024;

const piecesOf = (app: SnapshotBytes): readonly Uint8Array[] => (app instanceof Uint8Array ? [app] : app);

/** The header and addresses, in a buffer of the whole snapshot's size. */
function allocate(
  addresses: Record<NodeId, string>,
  app: readonly Uint8Array[],
): { out: Uint8Array; at: number } {
  const meta = enc.encode(JSON.stringify({ addresses }));
  let size = 8 + meta.length;
  for (const p of app) size += p.byteLength;
  const out = new Uint8Array(size);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, meta.length);
  out.set(meta, 8);
  return { out, at: 8 + meta.length };
}

export function encodeRuntimeSnapshot(s: {
  addresses: Record<NodeId, string>;
  app: SnapshotBytes;
}): Uint8Array {
  const app = piecesOf(s.app);
  let { out, at } = allocate(s.addresses, app);
  for (const p of app) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * {@link encodeRuntimeSnapshot} for a large snapshot: the same bytes, copied a megabyte at a
 * time with `yieldNow` between, so the event loop is never held for the whole copy.
 */
export async function joinRuntimeSnapshot(
  s: { addresses: Record<NodeId, string>; app: SnapshotBytes },
  yieldNow: () => Promise<void>,
): Promise<Uint8Array> {
  const app = piecesOf(s.app);
  let { out, at } = allocate(s.addresses, app);
  let sinceYield = 0;
  for (const p of app) {
    for (let off = 0; off < p.byteLength; off += JOIN_PIECE_BYTES) {
      const piece = p.subarray(off, off + JOIN_PIECE_BYTES);
      out.set(piece, at);
      at += piece.byteLength;
      sinceYield += piece.byteLength;
      if (sinceYield >= JOIN_PIECE_BYTES && at < out.length) {
        sinceYield = 0;
        await yieldNow();
      }
    }
  }
  return out;
}

/** Throws if `data` is not a runtime snapshot (the file or message was corrupted or is foreign). */
export function decodeRuntimeSnapshot(data: Uint8Array): RuntimeSnapshot {
  if (data.length < 8 || MAGIC.some((b, i) => data[i] !== b)) {
    throw new Error("snapshot data is not a raftkit runtime snapshot (bad magic)");
  }
  const len = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(4);
  if (8 + len > data.length) throw new Error("snapshot data is truncated");
  const meta = JSON.parse(dec.decode(data.subarray(8, 8 + len))) as { addresses?: Record<NodeId, string> };
  return { addresses: meta.addresses ?? {}, app: data.subarray(8 + len) };
}
