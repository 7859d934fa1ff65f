import { createHash } from "node:crypto";
import { freeze, isDraftable } from "immer";
import { encodeValue } from "../codec.js";
import { encodeSliced } from "./slicedEncode.js";
import type { Slicer } from "./slicer.js";
import { NotSliceable } from "./superjsonRules.js";

export { decodeSliced as decodeInSlices } from "./slicedDecode.js";

/** Told why a value was encoded or decoded at once, by superjson itself, rather than in slices. */
export type Fallback = (reason: string) => void;

/**
 * `value` as {@link encodeValue} encodes it (superjson: the same bytes, so every node and every
 * version reads them alike), in slices, as pieces in order. A value the sliced encoder leaves
 * to superjson (see {@link NotSliceable}) is encoded at once, with superjson's errors.
 */
export async function encodeInSlices(
  value: unknown,
  slicer: Slicer,
  what: string,
  fallback?: Fallback,
): Promise<Uint8Array[]> {
  const pieces: Uint8Array[] = [];
  try {
    await encodeSliced(value, slicer, (piece) => pieces.push(piece));
    return pieces;
  } catch (e) {
    if (!(e instanceof NotSliceable)) throw e;
    fallback?.(e.message);
    return [encodeValue(value, what)];
  }
}

/** SHA-256, hex, of `value`'s encoding (what {@link stateHash} gives for `encodeValue(value)`), in slices. */
export async function hashInSlices(value: unknown, slicer: Slicer, what: string): Promise<string> {
  let hash = createHash("sha256");
  try {
    await encodeSliced(value, slicer, (piece) => {
      hash.update(piece);
      // Hashing costs about what encoding the same bytes does.
      slicer.spend(piece.byteLength >> 6);
    });
  } catch (e) {
    if (!(e instanceof NotSliceable)) throw e;
    hash = createHash("sha256").update(encodeValue(value, what));
  }
  return hash.digest("hex");
}

/**
 * immer's `freeze(value, true)`, in slices: every plain object and array reached through own
 * values is frozen, Maps and Sets are frozen (their mutators throw) but, as immer does, not
 * walked into; a value already frozen is not walked again.
 */
export async function freezeInSlices(value: unknown, slicer: Slicer): Promise<void> {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== "object" || v === null || Object.isFrozen(v) || !isDraftable(v)) continue;
    freeze(v, false);
    const children = Object.values(v);
    for (const c of children) if (typeof c === "object" && c !== null) stack.push(c);
    if (slicer.spend(1 + (children.length >> 4))) await slicer.next();
  }
}
