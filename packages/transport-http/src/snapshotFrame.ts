import type { Message } from "@raftkit/core";
import { decodeMessages, encodeMessages } from "./codec.js";
import { MalformedMessageError } from "./errors.js";

/*
 * The body of a snapshot request: u32 big-endian header length, the header (a one-message
 * batch, the snapshot message with its data left empty), then the snapshot data as raw bytes
 * up to the end of the body. The data is never copied into the header, so a sender streams it
 * straight from the snapshot and a receiver reassembles it in one buffer.
 */

const EMPTY = new Uint8Array(0);

/** The bytes that precede a snapshot's data on the snapshot route. @internal */
export function encodeSnapshotHeader(m: Message): Buffer {
  if (m.type !== "snapshot" || m.snapshot === null) {
    throw new RangeError(`expected a snapshot message with a snapshot, got a "${m.type}" message`);
  }
  const header = encodeMessages([{ ...m, snapshot: { ...m.snapshot, data: EMPTY } }]);
  const out = Buffer.allocUnsafe(4 + header.byteLength);
  out.writeUInt32BE(header.byteLength, 0);
  header.copy(out, 4);
  return out;
}

/**
 * Decodes a whole snapshot body into its message. The snapshot's data is a view of `body`,
 * which must therefore be a buffer of its own. Throws a {@link MalformedMessageError}.
 *
 * @internal
 */
export function decodeSnapshotFrame(body: Uint8Array): Message {
  if (body.byteLength < 4) {
    throw new MalformedMessageError(
      `a snapshot body needs at least 4 bytes, got ${body.byteLength}`,
      0,
      "headerLength",
    );
  }
  const headerLength = new DataView(body.buffer, body.byteOffset, 4).getUint32(0);
  if (headerLength > body.byteLength - 4) {
    throw new MalformedMessageError(
      `header length ${headerLength} runs past the end of the ${body.byteLength}-byte body`,
      0,
      "headerLength",
    );
  }
  let messages: Message[];
  try {
    messages = decodeMessages(body.subarray(4, 4 + headerLength));
  } catch (e) {
    if (!(e instanceof MalformedMessageError)) throw e;
    throw new MalformedMessageError(e.detail, 4 + e.offset, `header.${e.field}`);
  }
  const m = messages[0];
  if (messages.length !== 1 || m === undefined) {
    throw new MalformedMessageError(
      `the header must hold 1 message, it holds ${messages.length}`,
      4,
      "header",
    );
  }
  if (m.type !== "snapshot" || m.snapshot === null) {
    throw new MalformedMessageError(
      `the header must hold a snapshot message with a snapshot, it holds a "${m.type}" message`,
      4,
      "header",
    );
  }
  if (m.snapshot.data.byteLength !== 0) {
    throw new MalformedMessageError(
      "the header's snapshot data must be empty: the data follows the header",
      4,
      "header",
    );
  }
  const start = 4 + headerLength;
  m.snapshot.data = new Uint8Array(body.buffer, body.byteOffset + start, body.byteLength - start);
  return m;
}
