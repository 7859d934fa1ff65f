/**
 * The JSON wire format measured against the binary one in `codec.ts` (bench only): the same
 * fields, byte arrays as base64, and a decoder that checks as much as the binary decoder does.
 */
import {
  type ConfState,
  type Entry,
  MESSAGE_TYPES,
  type Message,
  type MessageType,
  type Snapshot,
} from "@raftkit/core";
import { MalformedMessageError } from "../src/errors.js";

const TYPES = new Set<MessageType>(MESSAGE_TYPES);

const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");

export function encodeJson(messages: readonly Message[]): Buffer {
  const out = messages.map((m) => ({
    ...m,
    entries: m.entries.map((e) => ({ ...e, data: b64(e.data) })),
    snapshot: m.snapshot && { meta: m.snapshot.meta, data: b64(m.snapshot.data) },
    context: m.context && b64(m.context),
  }));
  return Buffer.from(JSON.stringify(out), "utf8");
}

type Json = Record<string, unknown>;

function fail(field: string, detail: string): never {
  throw new MalformedMessageError(detail, 0, field);
}

function uint(o: Json, k: string, at: string): number {
  const v = o[k];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    fail(`${at}.${k}`, "not a non-negative integer");
  return v;
}

function str(o: Json, k: string, at: string): string {
  const v = o[k];
  if (typeof v !== "string") fail(`${at}.${k}`, "not a string");
  return v;
}

function bytes(v: unknown, at: string): Uint8Array {
  if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) fail(at, "not base64");
  const b = Buffer.from(v, "base64");
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function obj(v: unknown, at: string): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(at, "not an object");
  return v as Json;
}

function ids(v: unknown, at: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) fail(at, "not a list of strings");
  return v as string[];
}

function entry(v: unknown, at: string): Entry {
  const o = obj(v, at);
  const type = o.type;
  if (type !== "normal" && type !== "confChange") fail(`${at}.type`, "unknown entry type");
  return { term: uint(o, "term", at), index: uint(o, "index", at), type, data: bytes(o.data, `${at}.data`) };
}

function snapshot(v: unknown, at: string): Snapshot | null {
  if (v === null) return null;
  const o = obj(v, at);
  const meta = obj(o.meta, `${at}.meta`);
  const c = obj(meta.confState, `${at}.meta.confState`);
  if (typeof c.autoLeave !== "boolean") fail(`${at}.meta.confState.autoLeave`, "not a boolean");
  const confState: ConfState = {
    voters: ids(c.voters, "voters"),
    learners: ids(c.learners, "learners"),
    votersOutgoing: ids(c.votersOutgoing, "votersOutgoing"),
    learnersNext: ids(c.learnersNext, "learnersNext"),
    autoLeave: c.autoLeave,
  };
  return {
    meta: { index: uint(meta, "index", at), term: uint(meta, "term", at), confState },
    data: bytes(o.data, `${at}.data`),
  };
}

export function decodeJson(body: Uint8Array): Message[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch (e) {
    fail("batch", String(e));
  }
  if (!Array.isArray(parsed)) fail("batch", "not an array");
  return parsed.map((v, i): Message => {
    const at = `messages[${i}]`;
    const o = obj(v, at);
    const type = o.type as MessageType;
    if (!TYPES.has(type)) fail(`${at}.type`, "unknown message type");
    if (typeof o.reject !== "boolean") fail(`${at}.reject`, "not a boolean");
    if (!Array.isArray(o.entries)) fail(`${at}.entries`, "not a list");
    return {
      type,
      from: str(o, "from", at),
      to: str(o, "to", at),
      term: uint(o, "term", at),
      logTerm: uint(o, "logTerm", at),
      index: uint(o, "index", at),
      entries: o.entries.map((e, j) => entry(e, `${at}.entries[${j}]`)),
      commit: uint(o, "commit", at),
      reject: o.reject,
      rejectHint: uint(o, "rejectHint", at),
      snapshot: snapshot(o.snapshot, `${at}.snapshot`),
      context: o.context === null ? null : bytes(o.context, `${at}.context`),
    };
  });
}
