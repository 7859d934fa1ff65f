import { MESSAGE_TYPES, type Message, type MessageType, message, SeededRandom } from "@raftkit/core";
import { describe, expect, it } from "vitest";
import { decodeMessages, encodedMessageSize, encodeMessages } from "../src/codec.js";
import { MalformedMessageError } from "../src/errors.js";

const ALL_TYPES: readonly MessageType[] = MESSAGE_TYPES;

const bytes = (n: number, seed = 1): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

/** A message of `type` with every field set to something other than its default. */
function full(type: MessageType, i: number): Message {
  return message({
    type,
    from: `n${i}`,
    to: "nœud-2",
    term: 7 + i,
    logTerm: 6,
    index: 1_000_000 + i,
    commit: 999,
    reject: i % 2 === 0,
    rejectHint: i * 3,
    entries: [
      { term: 6, index: 1_000_001, type: "normal", data: bytes(64, i) },
      { term: 7, index: 1_000_002, type: "confChange", data: bytes(3, i) },
      { term: 7, index: 1_000_003, type: "normal", data: new Uint8Array(0) },
    ],
    context: i % 3 === 0 ? null : bytes(8, i),
    snapshot:
      type === "snapshot"
        ? {
            meta: {
              index: 900,
              term: 5,
              confState: {
                voters: ["n1", "n2"],
                learners: ["n4"],
                votersOutgoing: ["n1", "n2", "n3"],
                learnersNext: ["n3"],
                autoLeave: true,
              },
            },
            data: bytes(1000, i),
          }
        : null,
  });
}

function roundTrip(ms: Message[]): Message[] {
  return decodeMessages(encodeMessages(ms));
}

/** Decodes `body`, expecting a MalformedMessageError, and returns it. */
function malformed(body: Uint8Array): MalformedMessageError {
  try {
    decodeMessages(body);
  } catch (e) {
    if (e instanceof MalformedMessageError) return e;
    throw new Error(`expected a MalformedMessageError, got ${String(e)}`, { cause: e });
  }
  throw new Error("expected a MalformedMessageError, but the body decoded");
}

describe("wire type codes", () => {
  it("stay the positions of core's MESSAGE_TYPES as first released (new types only at the end)", () => {
    const released =
      "hup beat propose append appendResponse vote voteResponse preVote preVoteResponse snapshot heartbeat heartbeatResponse unreachable snapshotStatus checkQuorum transferLeader timeoutNow readIndex readIndexResponse";
    expect(MESSAGE_TYPES.slice(0, 19).join(" ")).toBe(released);
    // The code is the second byte after the header "RK", version and count: check one.
    const bytes = encodeMessages([message({ type: "append", from: "a", to: "b" })]);
    expect(bytes[4]).toBe(MESSAGE_TYPES.indexOf("append"));
  });
});

describe("codec round trip", () => {
  it.each(ALL_TYPES.map((t, i) => [t, i] as const))("keeps every field of a %s message", (type, i) => {
    const m = full(type, i);
    expect(roundTrip([m])).toEqual([m]);
  });

  it("keeps a batch of every type, in order", () => {
    const ms = ALL_TYPES.map(full);
    expect(roundTrip(ms)).toEqual(ms);
  });

  it("keeps default messages: no entries, no context, no snapshot, empty ids", () => {
    const ms = ALL_TYPES.map((type) => message({ type }));
    expect(roundTrip(ms)).toEqual(ms);
  });

  it("keeps an empty batch", () => {
    expect(roundTrip([])).toEqual([]);
  });

  it("keeps large entries and a snapshot with empty data", () => {
    const big = message({
      type: "append",
      from: "a",
      to: "b",
      entries: [
        { term: 1, index: 2, type: "normal", data: bytes(3 * 1024 * 1024) },
        { term: 1, index: 3, type: "normal", data: bytes(1) },
      ],
    });
    const snap = full("snapshot", 1);
    snap.snapshot = { ...snap.snapshot!, data: new Uint8Array(0) };
    const [outBig, outSnap] = roundTrip([big, snap]);
    // Compared as buffers: a deep equality over 3 MiB element by element takes seconds.
    expect(Buffer.compare(outBig!.entries[0]!.data, big.entries[0]!.data)).toBe(0);
    expect({ ...outBig, entries: outBig!.entries.slice(1) }).toEqual({
      ...big,
      entries: big.entries.slice(1),
    });
    expect(outSnap).toEqual(snap);
  });

  it("keeps numbers up to 2^53 - 1 and non-ASCII node ids", () => {
    const max = Number.MAX_SAFE_INTEGER;
    const m = message({
      type: "vote",
      from: "ノード-1",
      to: "x".repeat(200),
      term: max,
      logTerm: max - 1,
      index: 2 ** 32,
      commit: 127,
      rejectHint: 128,
    });
    expect(roundTrip([m])).toEqual([m]);
  });

  it("decodes byte arrays as plain Uint8Array copies that outlive changes to the body", () => {
    const m = full("append", 1);
    const body = encodeMessages([m]);
    const [out] = decodeMessages(body);
    body.fill(0);
    expect(out!.entries[0]!.data).toEqual(m.entries[0]!.data);
    expect(Object.getPrototypeOf(out!.entries[0]!.data)).toBe(Uint8Array.prototype);
    expect(Object.getPrototypeOf(out!.context)).toBe(Uint8Array.prototype);
  });

  it("reports the exact encoded size of each message", () => {
    const ms = ALL_TYPES.map(full);
    let sum = 0;
    for (const m of ms) sum += encodedMessageSize(m);
    // 2 magic bytes, 1 version byte, 1 byte of count.
    expect(encodeMessages(ms).byteLength).toBe(4 + sum);
  });

  it("is compact: a heartbeat takes about 20 bytes, an entry's data travels raw", () => {
    expect(
      encodeMessages([message({ type: "heartbeat", from: "n1", to: "n2", term: 9, commit: 100_000 })])
        .byteLength,
    ).toBeLessThan(24);
    const m = message({
      type: "append",
      from: "n1",
      to: "n2",
      entries: [{ term: 1, index: 1, type: "normal", data: bytes(4096) }],
    });
    expect(encodedMessageSize(m)).toBeLessThan(4096 + 24);
  });

  it("refuses to encode numbers no peer could decode", () => {
    expect(() => encodeMessages([message({ type: "heartbeat", term: -1 })])).toThrow(/term = -1/);
    expect(() => encodeMessages([message({ type: "heartbeat", commit: 1.5 })])).toThrow(/commit = 1.5/);
    expect(() => encodeMessages([message({ type: "heartbeat", index: 2 ** 53 })])).toThrow(RangeError);
    expect(() => encodeMessages([message({ type: "nope" as MessageType })])).toThrow(/unknown type "nope"/);
  });
});

describe("codec validation", () => {
  const valid = encodeMessages([full("append", 1), full("snapshot", 2)]);

  it("refuses a body that is not a raftkit batch", () => {
    const e = malformed(Buffer.from('{"type":"append"}'));
    expect(e.offset).toBe(0);
    expect(e.field).toBe("batch.magic");
    expect(e.message).toMatch(/does not start with "RK"/);
    expect(e.code).toBe("MALFORMED_MESSAGE");
    expect(malformed(new Uint8Array(0)).field).toBe("batch.magic");
  });

  it("refuses another wire version, saying what to do", () => {
    const body = Buffer.from(valid);
    body[2] = 9;
    const e = malformed(body);
    expect(e).toMatchObject({ offset: 2, field: "batch.version" });
    expect(e.message).toMatch(/version 9 is not supported .*same raftkit version/);
  });

  it("refuses every truncation of a valid batch", () => {
    for (let n = 0; n < valid.byteLength; n++)
      expect(malformed(valid.subarray(0, n))).toBeInstanceOf(MalformedMessageError);
  });

  it("refuses bytes after the last message", () => {
    const e = malformed(Buffer.concat([valid, Buffer.from([0])]));
    expect(e.offset).toBe(valid.byteLength);
    expect(e.message).toMatch(/1 bytes follow the last of 2 messages/);
  });

  it("names the message, the entry and the field at fault", () => {
    const m = message({
      type: "append",
      from: "a",
      to: "b",
      entries: [
        { term: 1, index: 1, type: "normal", data: bytes(2) },
        { term: 1, index: 2, type: "normal", data: bytes(2) },
      ],
    });
    const body = encodeMessages([message({ type: "heartbeat" }), m]);
    // The second entry's type byte sits 3 bytes before its data (length byte + 2 data bytes) from the end.
    body[body.byteLength - 4] = 7;
    const e = malformed(body);
    expect(e.field).toBe("messages[1].entries[1].type");
    expect(e.offset).toBe(body.byteLength - 4);
    expect(e.message).toMatch(/unknown entry type 7/);
  });

  it("refuses an unknown message type, unknown flags and a non-boolean", () => {
    const body = encodeMessages([message({ type: "heartbeat" })]);
    const typeAt = 4;
    expect(malformed(Buffer.from(body).fill(200, typeAt, typeAt + 1))).toMatchObject({
      field: "messages[0].type",
      offset: typeAt,
    });
    expect(malformed(Buffer.from(body).fill(0x40, typeAt + 1, typeAt + 2)).field).toBe("messages[0].flags");
    const snap = encodeMessages([full("snapshot", 1)]);
    const autoLeaveAt = snap.byteLength - 1000 - 2 - 1; // before the data and its 2-byte length
    expect(snap[autoLeaveAt]).toBe(1);
    snap[autoLeaveAt] = 2;
    expect(malformed(snap).field).toBe("messages[0].snapshot.meta.confState.autoLeave");
  });

  it("refuses numbers above 2^53 - 1, overlong and non-minimal varints", () => {
    const head = [0x52, 0x4b, 1, 1, 10, 0, 0, 0];
    const tooBig = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
    expect(malformed(Buffer.from([...head, ...tooBig, 0, 0, 0, 0, 0]))).toMatchObject({
      field: "messages[0].term",
      offset: 8,
    });
    expect(
      malformed(Buffer.from([...head, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1])).message,
    ).toMatch(/longer than 8 bytes/);
    expect(malformed(Buffer.from([...head, 0x81, 0x00, 0, 0, 0, 0, 0])).message).toMatch(
      /not minimally encoded/,
    );
  });

  it("refuses counts and lengths that cannot fit, before allocating for them", () => {
    expect(malformed(Buffer.from([0x52, 0x4b, 1, 0xff, 0xff, 0xff, 0xff, 0x0f])).message).toMatch(
      /messages cannot fit/,
    );
    const body = encodeMessages([
      message({ type: "append", entries: [{ term: 1, index: 1, type: "normal", data: bytes(4) }] }),
    ]);
    body[body.byteLength - 5] = 0x7f; // the data length
    expect(malformed(body).message).toMatch(/length 127 runs past the end of the body/);
  });

  it("refuses invalid UTF-8 in a node id", () => {
    const body = encodeMessages([message({ type: "heartbeat", from: "ab", to: "cd" })]);
    body[7] = 0xff; // magic, version, count, type, flags, length of "from", then its first byte
    expect(malformed(body)).toMatchObject({ field: "messages[0].from", offset: 7 });
  });

  it("throws only MalformedMessageError for random garbage", () => {
    const rnd = new SeededRandom(42);
    for (let i = 0; i < 3000; i++) {
      const body = new Uint8Array(rnd.int(200)).map(() => rnd.int(256));
      if (rnd.chance(0.7) && body.byteLength >= 3) body.set([0x52, 0x4b, 1]);
      try {
        decodeMessages(body);
      } catch (e) {
        if (!(e instanceof MalformedMessageError)) throw new Error(`seed 42, case ${i}: ${String(e)}`);
      }
    }
  });

  it("throws only MalformedMessageError for mutated valid batches, or decodes them", () => {
    const rnd = new SeededRandom(7);
    const base = encodeMessages(ALL_TYPES.map((t, i) => ({ ...full(t, i), snapshot: null })));
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const body = Buffer.from(base);
      for (let k = 1 + rnd.int(4); k > 0; k--) {
        const at = 3 + rnd.int(body.byteLength - 3);
        body[at] = rnd.chance(0.5) ? rnd.int(256) : body[at]! ^ (1 << rnd.int(8));
      }
      const cut = rnd.chance(0.2) ? body.subarray(0, rnd.int(body.byteLength)) : body;
      try {
        const out = decodeMessages(cut);
        expect(encodeMessages(out).byteLength).toBeGreaterThan(0);
      } catch (e) {
        if (!(e instanceof MalformedMessageError)) throw new Error(`seed 7, case ${i}: ${String(e)}`);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });
});
