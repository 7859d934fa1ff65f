import { describe, expect, it } from "vitest";
import { encodeMessages } from "../src/codec.js";
import { MalformedMessageError } from "../src/errors.js";
import { decodeSnapshotFrame, encodeSnapshotHeader } from "../src/snapshotFrame.js";
import { append, snapshotMessage } from "./helpers.js";

const data = new Uint8Array(5000).map((_, i) => i & 0xff);

function frame(header: Uint8Array, body: Uint8Array): Buffer {
  return Buffer.concat([header, body]);
}

function refusal(body: Uint8Array): MalformedMessageError {
  try {
    decodeSnapshotFrame(body);
  } catch (e) {
    if (e instanceof MalformedMessageError) return e;
    throw e;
  }
  throw new Error("expected a MalformedMessageError");
}

describe("snapshot frame", () => {
  it("carries the message in a header and the data raw after it", () => {
    const m = snapshotMessage("n1", "n2", data);
    const header = encodeSnapshotHeader(m);
    expect(header.byteLength).toBeLessThan(100);
    expect(decodeSnapshotFrame(frame(header, data))).toEqual(m);
  });

  it("refuses a header that runs past the body, or is not one snapshot message", () => {
    expect(refusal(new Uint8Array(2)).field).toBe("headerLength");
    expect(refusal(Buffer.from([0, 0, 1, 0, 1, 2])).message).toMatch(/header length 256 runs past the end/);
    const two = encodeMessages([append("n1", "n2", 1), append("n1", "n2", 2)]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(two.byteLength);
    expect(refusal(Buffer.concat([len, two])).message).toMatch(/must hold 1 message, it holds 2/);
    const one = encodeMessages([append("n1", "n2", 1)]);
    len.writeUInt32BE(one.byteLength);
    expect(refusal(Buffer.concat([len, one])).message).toMatch(/holds a "append" message/);
  });

  it("names the header field when the header itself is malformed", () => {
    const header = encodeSnapshotHeader(snapshotMessage("n1", "n2", data));
    header[4 + 2] = 3; // the wire version, after the length and the magic
    expect(refusal(frame(header, data))).toMatchObject({ field: "header.batch.version", offset: 6 });
  });
});
