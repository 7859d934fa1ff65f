/**
 * `pnpm bench transport`: encode + decode throughput of the two candidate wire formats for a
 * batch of messages, the binary one in src/codec.ts (kept) and JSON with base64 data
 * (bench/jsonCodec.ts). Each message is an append carrying one entry; rows vary the batch size
 * (1, 64, 1024 messages) and the entry size (64 B, 4 KiB). Figures are per round trip of one
 * batch (encode, then decode, with full validation), on one core.
 */
import { type Message, message } from "@raftkit/core";
import { decodeMessages, encodeMessages } from "../src/codec.js";
import { decodeJson, encodeJson } from "./jsonCodec.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 0.5);

interface Codec {
  name: string;
  encode(messages: readonly Message[]): Uint8Array;
  decode(bytes: Uint8Array): Message[];
}

const codecs: Codec[] = [
  { name: "binary", encode: encodeMessages, decode: decodeMessages },
  { name: "json", encode: encodeJson, decode: decodeJson },
];

function batch(count: number, entryBytes: number): Message[] {
  const data = new Uint8Array(entryBytes).map((_, i) => i * 31);
  return Array.from({ length: count }, (_, i) =>
    message({
      type: "append",
      from: "n1",
      to: "n2",
      term: 7,
      logTerm: 7,
      index: 100_000 + i,
      commit: 99_990 + i,
      entries: [{ term: 7, index: 100_001 + i, type: "normal", data }],
    }),
  );
}

function measure(codec: Codec, messages: Message[]): { perSec: number; size: number } {
  const size = codec.encode(messages).byteLength;
  let rounds = 0;
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 8; i++) {
      const decoded = codec.decode(codec.encode(messages));
      if (decoded.length !== messages.length) throw new Error(`bench: ${codec.name} lost messages`);
    }
    rounds += 8;
  }
  return { perSec: rounds / ((performance.now() - start) / 1000), size };
}

const fmt = (n: number, w: number): string => Math.round(n).toLocaleString("en-US").padStart(w);

console.log(
  `bench transport: codec encode+decode round trips, ${SECONDS}s per row, append messages with 1 entry each`,
);
console.log("codec    msgs   entry     bytes/msg    batches/s     msgs/s    MB/s (payload)");
for (const entryBytes of [64, 4096]) {
  for (const count of [1, 64, 1024]) {
    const messages = batch(count, entryBytes);
    for (const codec of codecs) {
      const r = measure(codec, messages);
      const msgs = r.perSec * count;
      console.log(
        `${codec.name.padEnd(6)} ${fmt(count, 6)} ${fmt(entryBytes, 7)} ${fmt(r.size / count, 13)} ${fmt(r.perSec, 12)} ${fmt(msgs, 10)} ${((msgs * entryBytes) / 1e6).toFixed(1).padStart(9)}`,
      );
    }
  }
}
