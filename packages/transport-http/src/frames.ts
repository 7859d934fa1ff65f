/*
 * The frames of a peer stream (an HTTP/1.1 connection upgraded to `raftkit-peer/1`, see
 * streamServer.ts for the handshake). Each frame is:
 *
 *   frame = length:u32be kind:u8 payload      (length counts kind and payload: 1 + payload bytes)
 *
 * kinds: 1 MESSAGES  payload = one batch in the wire format of codec.ts ("RK" version count …)
 *        2 PING      payload = empty; the receiving side answers PONG
 *        3 PONG      payload = empty
 *        4 CLOSE     payload = UTF-8 JSON { error: { code, message } }: why the sender closes
 *
 * A frame whose length is 0 or exceeds the receiver's limit is refused: the receiver sends
 * CLOSE with BODY_TOO_LARGE or MALFORMED_MESSAGE and ends the connection.
 */

/** A batch of Raft messages (codec.ts format). */
export const FRAME_MESSAGES = 1;
/** Liveness probe; answered with {@link FRAME_PONG}. */
export const FRAME_PING = 2;
export const FRAME_PONG = 3;
/** The sender's last frame: a JSON refusal, then the connection ends. */
export const FRAME_CLOSE = 4;

/** Bytes before a frame's payload: the u32 length and the kind. */
export const FRAME_HEADER_BYTES = 5;

/** The header of a frame of `kind` whose payload takes `payloadBytes`. @internal */
export function frameHeader(kind: number, payloadBytes: number): Buffer {
  const h = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  h.writeUInt32BE(payloadBytes + 1, 0);
  h[4] = kind;
  return h;
}

/** A whole frame: header and payload in one buffer. @internal */
export function encodeFrame(kind: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
  out.writeUInt32BE(payload.byteLength + 1, 0);
  out[4] = kind;
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** Why {@link FrameDecoder.push} stopped: a frame too large, or a zero length. @internal */
export class FrameError extends Error {
  constructor(
    readonly code: "BODY_TOO_LARGE" | "MALFORMED_MESSAGE" | "WRONG_RECIPIENT",
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reassembles frames from the chunks of a byte stream. Never holds more than one frame's
 * bytes plus one chunk: a frame header announcing more than `maxPayloadBytes` is refused as
 * soon as it is read, before its payload arrives.
 *
 * @internal
 */
export class FrameDecoder {
  readonly #maxPayloadBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Bytes the frame at the front needs in all, once its header is known; 0 before. */
  #needed = 0;

  constructor(maxPayloadBytes: number) {
    this.#maxPayloadBytes = maxPayloadBytes;
  }

  /**
   * Adds a chunk and calls `onFrame` for each frame it completes, in order. The payload is a
   * view that is only valid during the call. Throws a {@link FrameError} for a frame that
   * breaks the limits; the decoder must not be used after that.
   */
  push(chunk: Buffer, onFrame: (kind: number, payload: Buffer) => void): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    // A large frame arrives in many chunks: join them once, when it is complete.
    if (this.#buffered < Math.max(FRAME_HEADER_BYTES, this.#needed)) return;
    this.#needed = 0;
    let buf = this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks, this.#buffered);
    let off = 0;
    while (buf.byteLength - off >= FRAME_HEADER_BYTES) {
      const length = buf.readUInt32BE(off);
      if (length === 0)
        throw new FrameError("MALFORMED_MESSAGE", "a frame of length 0 (it needs a kind byte)");
      if (length - 1 > this.#maxPayloadBytes) {
        throw new FrameError(
          "BODY_TOO_LARGE",
          `a frame of ${length - 1} payload bytes exceeds the limit of ${this.#maxPayloadBytes} bytes (maxBodyBytes of the receiving node)`,
        );
      }
      if (buf.byteLength - off < 4 + length) {
        this.#needed = 4 + length;
        break;
      }
      onFrame(buf[off + 4]!, buf.subarray(off + FRAME_HEADER_BYTES, off + 4 + length));
      off += 4 + length;
    }
    if (off === buf.byteLength) {
      this.#chunks = [];
      this.#buffered = 0;
    } else {
      buf = buf.subarray(off);
      this.#chunks = [buf];
      this.#buffered = buf.byteLength;
    }
  }
}
