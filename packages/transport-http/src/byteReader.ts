import { isUtf8 } from "node:buffer";
import { SHORT_STRING } from "./byteWriter.js";
import { MalformedMessageError } from "./errors.js";

/** Longest varint accepted: 8 bytes carry 56 bits, enough for any safe integer. */
const MAX_VARINT_BYTES = 8;

/**
 * Reads the wire format and checks every read: a length never runs past the end, a varint is
 * canonical and a safe integer, strings are valid UTF-8. Each failure is a
 * {@link MalformedMessageError} naming the byte offset and the field.
 *
 * `message` and `entry` say where in the batch the reader is, for error messages only.
 *
 * @internal
 */
export class ByteReader {
  readonly #buf: Buffer;
  /** The same bytes as a plain Uint8Array, so that `slice` copies into a plain Uint8Array. */
  readonly #u8: Uint8Array;
  pos = 0;
  message = -1;
  entry = -1;

  constructor(bytes: Uint8Array) {
    this.#buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.#u8.byteLength;
  }

  get remaining(): number {
    return this.#u8.byteLength - this.pos;
  }

  /** Throws a {@link MalformedMessageError} at the current offset (or at `offset`). */
  fail(field: string, detail: string, offset = this.pos): never {
    let path = this.message >= 0 ? `messages[${this.message}]` : "batch";
    if (this.entry >= 0) path += `.entries[${this.entry}]`;
    throw new MalformedMessageError(detail, offset, field === "" ? path : `${path}.${field}`);
  }

  u8(field: string): number {
    if (this.pos >= this.#u8.byteLength) this.fail(field, "the body ends here, a byte was expected");
    return this.#u8[this.pos++]!;
  }

  uint(field: string): number {
    const p = this.pos;
    const u8 = this.#u8;
    if (p < u8.byteLength) {
      const b = u8[p]!;
      if (b < 0x80) {
        this.pos = p + 1;
        return b;
      }
    }
    return this.#uintSlow(field);
  }

  #uintSlow(field: string): number {
    const u8 = this.#u8;
    const start = this.pos;
    let p = start;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (p >= u8.byteLength) this.fail(field, "the body ends inside a number", start);
      const b = u8[p++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (b === 0 && i > 0) this.fail(field, "number is not minimally encoded", start);
        if (result > Number.MAX_SAFE_INTEGER) {
          this.fail(field, `number ${result} is larger than 2^53 - 1`, start);
        }
        this.pos = p;
        return result;
      }
      mul *= 128;
    }
    return this.fail(field, `number is longer than ${MAX_VARINT_BYTES} bytes`, start);
  }

  /** A varint length that must fit in what is left of the body, and be at most `max`. */
  len(field: string, max: number): number {
    const start = this.pos;
    const n = this.uint(field);
    if (n > max) this.fail(field, `length ${n} exceeds the limit of ${max}`, start);
    if (n > this.remaining) {
      this.fail(field, `length ${n} runs past the end of the body (${this.remaining} bytes left)`, start);
    }
    return n;
  }

  /** A length-prefixed byte string, copied out so it does not keep the whole body alive. */
  bytes(field: string): Uint8Array {
    const n = this.len(field, Number.MAX_SAFE_INTEGER);
    const out = this.#u8.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A length-prefixed UTF-8 string of at most `maxBytes` bytes. */
  str(field: string, maxBytes: number): string {
    const n = this.len(field, maxBytes);
    const start = this.pos;
    const end = start + n;
    const u8 = this.#u8;
    if (n <= SHORT_STRING) {
      let s = "";
      let i = start;
      for (; i < end; i++) {
        const c = u8[i]!;
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === end) {
        this.pos = end;
        return s;
      }
    }
    if (!isUtf8(u8.subarray(start, end))) this.fail(field, "string is not valid UTF-8", start);
    this.pos = end;
    return this.#buf.toString("utf8", start, end);
  }
}
