import { type Slicer, stringUnits } from "./slicer.js";

/** The bytes are not JSON as JSON.stringify writes it: the caller decodes them with superjson instead, for its error. */
export class MalformedJson extends Error {}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** An object or array being read, and for an object the key of the value being read. */
interface Open {
  value: Record<string, unknown> | unknown[];
  key: string | undefined;
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isNumberByte = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;

/**
 * JSON.parse of UTF-8 bytes, in slices (see {@link Slicer}): the same value, built a piece at a
 * time with the event loop free between slices, and without decoding the bytes to one string
 * first. Strings are cut out of the bytes as they are found; one with escapes goes through
 * JSON.parse on its own. Rejects with {@link MalformedJson} for bytes it cannot read (left to
 * JSON.parse to explain); it does not check everything JSON.parse checks (raw control
 * characters in strings pass), which bytes JSON.stringify wrote never hold.
 */
export async function parseJsonSliced(bytes: Uint8Array, slicer: Slicer): Promise<unknown> {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = b.length;
  let pos = 0;
  /** The next backslash at or after pos (end + 1: none left), found once and reused. */
  let backslash = -1;
  const stack: Open[] = [];
  let root: unknown;
  let done = false;

  const fail = (what: string): never => {
    throw new MalformedJson(`${what} at byte ${pos}`);
  };
  const skipSpace = (): void => {
    while (pos < end && isSpace(b[pos]!)) pos++;
  };
  /** Reads the string whose opening quote is at pos. */
  const readString = (): string => {
    const start = pos + 1;
    const close = b.indexOf(QUOTE, start);
    if (close < 0) fail("an unterminated string");
    if (backslash < start) {
      backslash = b.indexOf(BACKSLASH, start);
      if (backslash < 0) backslash = end + 1;
    }
    if (backslash > close) {
      pos = close + 1;
      return b.toString("utf8", start, close);
    }
    // Escapes: find the closing quote that is not escaped, and let JSON.parse unescape.
    let i = start;
    while (i < end && b[i] !== QUOTE) i += b[i] === BACKSLASH ? 2 : 1;
    if (i >= end) fail("an unterminated string");
    pos = i + 1;
    return JSON.parse(b.toString("utf8", start - 1, i + 1)) as string;
  };
  /** Reads a value at pos: a scalar is returned, a container is opened (and returned empty). */
  const readValue = (): unknown => {
    const c = b[pos];
    if (c === QUOTE) return readString();
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      pos++;
      const value = c === OPEN_BRACE ? {} : [];
      stack.push({ value, key: undefined });
      return value;
    }
    const literal = (word: string, value: unknown): unknown => {
      if (b.toString("latin1", pos, pos + word.length) !== word) fail("an unknown literal");
      pos += word.length;
      return value;
    };
    if (c === 0x74) return literal("true", true);
    if (c === 0x66) return literal("false", false);
    if (c === 0x6e) return literal("null", null);
    const start = pos;
    while (pos < end && isNumberByte(b[pos]!)) pos++;
    const n = pos > start ? Number(b.toString("latin1", start, pos)) : Number.NaN;
    if (Number.isNaN(n)) fail("an unexpected byte");
    return n;
  };
  /** Puts a value read into the container it belongs to (or makes it the root). */
  const place = (value: unknown, top: Open | undefined): void => {
    if (top === undefined) {
      root = value;
      done = true;
    } else if (Array.isArray(top.value)) top.value.push(value);
    else if (top.key === "__proto__")
      // As JSON.parse: an own property, never the prototype.
      Object.defineProperty(top.value, top.key, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    else top.value[top.key!] = value;
  };

  skipSpace();
  place(readValue(), undefined);
  // After an opening bracket the first value (or the close) comes without a comma.
  let first = stack.length > 0;
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    skipSpace();
    const c = b[pos];
    const closing = Array.isArray(top.value) ? CLOSE_BRACKET : CLOSE_BRACE;
    if (c === closing) {
      pos++;
      stack.pop();
      first = false;
      if (slicer.spend(1)) await slicer.next();
      continue;
    }
    if (!first) {
      if (c !== COMMA) fail("a missing comma");
      pos++;
      skipSpace();
    }
    if (!Array.isArray(top.value)) {
      if (b[pos] !== QUOTE) fail("a missing key");
      top.key = readString();
      skipSpace();
      if (b[pos] !== COLON) fail("a missing colon");
      pos++;
      skipSpace();
    }
    const before = pos;
    const depth = stack.length;
    const value = readValue();
    place(value, top);
    first = stack.length > depth;
    if (slicer.spend(stringUnits(pos - before))) await slicer.next();
  }
  skipSpace();
  if (!done || pos !== end) fail("trailing bytes");
  return root;
}
