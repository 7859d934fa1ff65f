/**
 * Every application entry the runtime proposes carries the id of the proposal, so that the
 * node that proposed it (possibly forwarding to the leader) can match the applied entry to
 * the waiting caller. Layout: u8 version, u8 id length, id bytes (ASCII), payload.
 */
const VERSION = 1;
const enc = new TextEncoder();
const dec = new TextDecoder();

export function wrapProposal(id: string, payload: Uint8Array): Uint8Array {
  const idBytes = enc.encode(id);
  if (idBytes.length > 255) throw new Error(`proposal id too long: ${id}`);
  const out = new Uint8Array(2 + idBytes.length + payload.length);
  out[0] = VERSION;
  out[1] = idBytes.length;
  out.set(idBytes, 2);
  out.set(payload, 2 + idBytes.length);
  return out;
}

/** Splits an entry's data into proposal id and payload; null if it was not written by {@link wrapProposal}. */
export function unwrapProposal(data: Uint8Array): { id: string; payload: Uint8Array } | null {
  if (data.length < 2 || data[0] !== VERSION) return null;
  const n = data[1]!;
  if (data.length < 2 + n) return null;
  return { id: dec.decode(data.subarray(2, 2 + n)), payload: data.subarray(2 + n) };
}
