/**
 * Writes the wire format into a buffer sized in advance (see `sizeOf*` in codec.ts), so a
 * batch is encoded with one allocation and no copying on growth.
 *
 * @internal
 */
export class ByteWriter {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  /** An unsigned LEB128 varint: 7 bits per byte, low bits first, at most 8 bytes for 2^53 - 1. */
  uint(v: number): void {
    const buf = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v = v < 0x80000000 ? v >>> 7 : Math.floor(v / 128);
    }
    buf[p++] = v;
    this.pos = p;
  }

  bytes(b: Uint8Array): void {
    this.uint(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }

  /** A length-prefixed UTF-8 string; short ASCII strings (node ids, mostly) are copied here, not in C++. */
  str(s: string): void {
    const n = s.length;
    if (n <= SHORT_STRING) {
      const buf = this.buf;
      const p = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = p + n;
        return;
      }
    }
    this.uint(Buffer.byteLength(s, "utf8"));
    this.pos += this.buf.write(s, this.pos, "utf8");
  }
}

/** Strings up to this length take the ASCII fast paths. @internal */
export const SHORT_STRING = 64;

/** The number of bytes {@link ByteWriter.str} writes for `s`. @internal */
export function strSize(s: string): number {
  const n = s.length;
  if (n <= SHORT_STRING) {
    let i = 0;
    while (i < n && s.charCodeAt(i) < 0x80) i++;
    if (i === n) return 1 + n;
  }
  const bytes = Buffer.byteLength(s, "utf8");
  return uintSize(bytes) + bytes;
}

/** The number of bytes {@link ByteWriter.uint} writes for `v`. @internal */
export function uintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 5;
  for (let x = Math.floor(v / 0x800000000); x > 0; x = Math.floor(x / 128)) n++;
  return n;
}
