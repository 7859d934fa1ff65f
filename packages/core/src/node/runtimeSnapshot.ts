import type { NodeId } from "../raft/types.js";

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

export function encodeRuntimeSnapshot(s: RuntimeSnapshot): Uint8Array {
  const meta = enc.encode(JSON.stringify({ addresses: s.addresses }));
  const out = new Uint8Array(8 + meta.length + s.app.length);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, meta.length);
  out.set(meta, 8);
  out.set(s.app, 8 + meta.length);
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
