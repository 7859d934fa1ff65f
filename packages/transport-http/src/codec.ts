import {
  type ConfState,
  type Entry,
  type EntryType,
  MESSAGE_TYPES,
  type Message,
  type MessageType,
  type Snapshot,
} from "@raftkit/core";
import { ByteReader } from "./byteReader.js";
import { ByteWriter, strSize, uintSize } from "./byteWriter.js";

/*
 * The wire format of a batch of messages (all numbers are unsigned LEB128 varints unless
 * marked u8; a string or byte string is a varint length followed by its bytes):
 *
 *   batch    = "R" "K" version:u8 count message*
 *   message  = type:u8 flags:u8 from:str to:str term logTerm index commit rejectHint
 *              entryCount entry* [context:bytes if flags&2] [snapshot if flags&4]
 *   entry    = term index type:u8 data:bytes
 *   snapshot = index term voters learners votersOutgoing learnersNext autoLeave:u8 data:bytes
 *              (each list of node ids is a count followed by that many strings)
 *
 * flags: 1 = reject. Type codes are positions in core's MESSAGE_TYPES, which must never be reordered.
 */

const MAGIC_0 = 0x52; // "R"
const MAGIC_1 = 0x4b; // "K"
/** The wire format version; a decoder refuses any other. */
export const WIRE_VERSION = 1;

const FLAG_REJECT = 1;
const FLAG_CONTEXT = 2;
const FLAG_SNAPSHOT = 4;
const KNOWN_FLAGS = FLAG_REJECT | FLAG_CONTEXT | FLAG_SNAPSHOT;

/** Longest node id accepted, in UTF-8 bytes. */
export const MAX_NODE_ID_BYTES = 1024;

/** A type's wire code is its position in core's MESSAGE_TYPES (which only ever grows at the end; a test pins the order). */
const WIRE_TYPES: readonly MessageType[] = MESSAGE_TYPES;
const TYPE_CODES = new Map<MessageType, number>(WIRE_TYPES.map((t, i) => [t, i]));
const ENTRY_TYPES: readonly EntryType[] = ["normal", "confChange"];

function bytesSize(b: Uint8Array): number {
  return uintSize(b.byteLength) + b.byteLength;
}

function listSize(ids: readonly string[]): number {
  let n = uintSize(ids.length);
  for (const id of ids) n += strSize(id);
  return n;
}

function checkUint(v: number, field: string): number {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`cannot encode ${field} = ${v}: it must be a non-negative safe integer`);
  }
  return v;
}

/** The number of bytes `m` takes in an encoded batch; used to bound queues and batches. */
export function encodedMessageSize(m: Message): number {
  let n = 2 + strSize(m.from) + strSize(m.to);
  n += uintSize(checkUint(m.term, "term")) + uintSize(checkUint(m.logTerm, "logTerm"));
  n += uintSize(checkUint(m.index, "index")) + uintSize(checkUint(m.commit, "commit"));
  n += uintSize(checkUint(m.rejectHint, "rejectHint")) + uintSize(m.entries.length);
  for (const e of m.entries) {
    n += uintSize(checkUint(e.term, "entry term")) + uintSize(checkUint(e.index, "entry index"));
    n += 1 + bytesSize(e.data);
  }
  if (m.context !== null) n += bytesSize(m.context);
  const s = m.snapshot;
  if (s !== null) {
    const c = s.meta.confState;
    n +=
      uintSize(checkUint(s.meta.index, "snapshot index")) + uintSize(checkUint(s.meta.term, "snapshot term"));
    n += listSize(c.voters) + listSize(c.learners) + listSize(c.votersOutgoing) + listSize(c.learnersNext);
    n += 1 + bytesSize(s.data);
  }
  return n;
}

/** The number of bytes {@link encodeMessages} produces for a batch whose messages take `messageBytes`. */
export function encodedBatchSize(count: number, messageBytes: number): number {
  return 3 + uintSize(count) + messageBytes;
}

function writeList(w: ByteWriter, ids: readonly string[]): void {
  w.uint(ids.length);
  for (const id of ids) w.str(id);
}

/** @internal Writes one message; `w` must have room for {@link encodedMessageSize} bytes. */
export function writeMessage(w: ByteWriter, m: Message): void {
  const code = TYPE_CODES.get(m.type);
  if (code === undefined) throw new RangeError(`cannot encode a message of unknown type "${m.type}"`);
  w.u8(code);
  w.u8((m.reject ? FLAG_REJECT : 0) | (m.context ? FLAG_CONTEXT : 0) | (m.snapshot ? FLAG_SNAPSHOT : 0));
  w.str(m.from);
  w.str(m.to);
  w.uint(m.term);
  w.uint(m.logTerm);
  w.uint(m.index);
  w.uint(m.commit);
  w.uint(m.rejectHint);
  w.uint(m.entries.length);
  for (const e of m.entries) {
    w.uint(e.term);
    w.uint(e.index);
    w.u8(e.type === "confChange" ? 1 : 0);
    w.bytes(e.data);
  }
  if (m.context) w.bytes(m.context);
  const s = m.snapshot;
  if (s) {
    const c = s.meta.confState;
    w.uint(s.meta.index);
    w.uint(s.meta.term);
    writeList(w, c.voters);
    writeList(w, c.learners);
    writeList(w, c.votersOutgoing);
    writeList(w, c.learnersNext);
    w.u8(c.autoLeave ? 1 : 0);
    w.bytes(s.data);
  }
}

/**
 * Encodes a batch of messages into the binary wire format (see the top of codec.ts). Entry,
 * context and snapshot data travel as raw bytes. Throws a `RangeError` for a message no peer
 * could decode (a negative or fractional number, an unknown type): that is a bug in the caller.
 */
export function encodeMessages(messages: readonly Message[]): Buffer {
  let size = 0;
  for (const m of messages) size += encodedMessageSize(m);
  const w = new ByteWriter(encodedBatchSize(messages.length, size));
  w.u8(MAGIC_0);
  w.u8(MAGIC_1);
  w.u8(WIRE_VERSION);
  w.uint(messages.length);
  for (const m of messages) writeMessage(w, m);
  return w.buf;
}

function readList(r: ByteReader, field: string): string[] {
  // Every id takes at least one byte, so a count larger than what is left is malformed.
  const n = r.len(field, r.remaining);
  const ids: string[] = new Array(n);
  for (let i = 0; i < n; i++) ids[i] = r.str(field, MAX_NODE_ID_BYTES);
  return ids;
}

function readBool(r: ByteReader, field: string): boolean {
  const b = r.u8(field);
  if (b > 1) r.fail(field, `expected 0 or 1, got ${b}`, r.pos - 1);
  return b === 1;
}

function readSnapshot(r: ByteReader): Snapshot {
  const index = r.uint("snapshot.meta.index");
  const term = r.uint("snapshot.meta.term");
  const confState: ConfState = {
    voters: readList(r, "snapshot.meta.confState.voters"),
    learners: readList(r, "snapshot.meta.confState.learners"),
    votersOutgoing: readList(r, "snapshot.meta.confState.votersOutgoing"),
    learnersNext: readList(r, "snapshot.meta.confState.learnersNext"),
    autoLeave: readBool(r, "snapshot.meta.confState.autoLeave"),
  };
  return { meta: { index, term, confState }, data: r.bytes("snapshot.data") };
}

function readEntries(r: ByteReader): Entry[] {
  // An entry takes at least 4 bytes, which bounds the count before anything is allocated.
  const n = r.uint("entries.length");
  if (n * 4 > r.remaining) {
    r.fail("entries.length", `${n} entries cannot fit in the ${r.remaining} bytes left`, r.pos - uintSize(n));
  }
  const entries: Entry[] = new Array(n);
  for (let i = 0; i < n; i++) {
    r.entry = i;
    const term = r.uint("term");
    const index = r.uint("index");
    const t = r.u8("type");
    const type = ENTRY_TYPES[t];
    if (type === undefined)
      r.fail("type", `unknown entry type ${t} (expected 0 normal or 1 confChange)`, r.pos - 1);
    entries[i] = { term, index, type, data: r.bytes("data") };
  }
  r.entry = -1;
  return entries;
}

/** @internal Reads one message at the reader's position. */
export function readMessage(r: ByteReader): Message {
  const t = r.u8("type");
  const type = WIRE_TYPES[t];
  if (type === undefined) r.fail("type", `unknown message type ${t}`, r.pos - 1);
  const flags = r.u8("flags");
  if ((flags & ~KNOWN_FLAGS) !== 0) r.fail("flags", `unknown flag bits 0x${flags.toString(16)}`, r.pos - 1);
  const from = r.str("from", MAX_NODE_ID_BYTES);
  const to = r.str("to", MAX_NODE_ID_BYTES);
  const term = r.uint("term");
  const logTerm = r.uint("logTerm");
  const index = r.uint("index");
  const commit = r.uint("commit");
  const rejectHint = r.uint("rejectHint");
  const entries = readEntries(r);
  const context = flags & FLAG_CONTEXT ? r.bytes("context") : null;
  const snapshot = flags & FLAG_SNAPSHOT ? readSnapshot(r) : null;
  const reject = (flags & FLAG_REJECT) !== 0;
  return { type, from, to, term, logTerm, index, entries, commit, reject, rejectHint, snapshot, context };
}

/**
 * Decodes a batch written by {@link encodeMessages}. Validates everything and throws a
 * {@link MalformedMessageError} naming the byte offset and field for anything else, never
 * another error. Returned byte arrays are copies: they do not keep `bytes` alive.
 */
export function decodeMessages(bytes: Uint8Array): Message[] {
  const r = new ByteReader(bytes);
  if (r.length < 3 || bytes[0] !== MAGIC_0 || bytes[1] !== MAGIC_1) {
    r.fail("magic", 'the body does not start with "RK": it is not a raftkit message batch', 0);
  }
  r.pos = 2;
  const version = r.u8("version");
  if (version !== WIRE_VERSION) {
    r.fail(
      "version",
      `wire format version ${version} is not supported (this node speaks ${WIRE_VERSION}); run the same raftkit version on every node`,
      2,
    );
  }
  // Every message takes at least 10 bytes, which bounds the count before anything is allocated.
  const n = r.uint("count");
  if (n * 10 > r.remaining) r.fail("count", `${n} messages cannot fit in the ${r.remaining} bytes left`, 3);
  const messages: Message[] = new Array(n);
  for (let i = 0; i < n; i++) {
    r.message = i;
    messages[i] = readMessage(r);
  }
  r.message = -1;
  if (r.remaining !== 0) r.fail("", `${r.remaining} bytes follow the last of ${n} messages`);
  return messages;
}
