/** A client's write, as carried in the data of a "normal" log entry. */
export interface KvCommand {
  client: number;
  /** The client's sequence number: increases with each of the client's operations. */
  seq: number;
  op: "put" | "cas";
  key: string;
  value: number;
  /** For cas: the value the key must hold (null: absent) for the write to happen. */
  expected: number | null;
}

/** The outcome of applying one command. */
export interface KvApplyResult {
  /** The command was applied before (a duplicated proposal) and was skipped this time. */
  duplicate: boolean;
  /** For cas: whether the expected value matched and the write happened. Always true for put. */
  ok: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a command as entry data (JSON with fields in a fixed order). */
export function encodeCommand(c: KvCommand): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      client: c.client,
      seq: c.seq,
      op: c.op,
      key: c.key,
      value: c.value,
      expected: c.expected,
    }),
  );
}

/** Decodes the data of a "normal" entry written by {@link encodeCommand}; throws on anything else. */
export function decodeCommand(data: Uint8Array): KvCommand {
  const v = JSON.parse(decoder.decode(data)) as KvCommand;
  if (typeof v !== "object" || v === null || typeof v.client !== "number" || typeof v.seq !== "number") {
    throw new Error(`entry data is not a KV command: ${decoder.decode(data)}`);
  }
  return v;
}

/**
 * The replicated state machine: a map of a few keys to numbers, with get/put/cas. It remembers
 * each client's last applied sequence number and skips a command it has already applied (a
 * proposal the network duplicated), as a real application must.
 */
export class KvMachine {
  /** The index of the last log entry applied (or covered by the snapshot restored). */
  applied = 0;
  readonly #data = new Map<string, number>();
  readonly #lastSeq = new Map<number, number>();

  /** The value of `key`, or null if it was never written. */
  get(key: string): number | null {
    return this.#data.get(key) ?? null;
  }

  /** Marks entry `index` applied without a command (a leader's no-op or a conf change). */
  skip(index: number): void {
    this.applied = index;
  }

  /** Applies the command of entry `index`. */
  apply(index: number, c: KvCommand): KvApplyResult {
    this.applied = index;
    const last = this.#lastSeq.get(c.client);
    if (last !== undefined && c.seq <= last) return { duplicate: true, ok: false };
    this.#lastSeq.set(c.client, c.seq);
    if (c.op === "cas" && this.get(c.key) !== c.expected) return { duplicate: false, ok: false };
    this.#data.set(c.key, c.value);
    return { duplicate: false, ok: true };
  }

  /** The state as snapshot data: canonical JSON, so equal states encode to equal bytes. */
  snapshot(): Uint8Array {
    return encoder.encode(this.fingerprint());
  }

  /** A canonical string for the whole state (applied index, data and dedup table). */
  fingerprint(): string {
    const data = [...this.#data].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const seqs = [...this.#lastSeq].sort((a, b) => a[0] - b[0]);
    return JSON.stringify({ applied: this.applied, data, seqs });
  }

  /** Rebuilds a machine from {@link snapshot} data; empty data gives an empty machine at `index`. */
  static restore(data: Uint8Array, index: number): KvMachine {
    const kv = new KvMachine();
    kv.applied = index;
    if (data.byteLength === 0) return kv;
    const s = JSON.parse(decoder.decode(data)) as {
      applied: number;
      data: Array<[string, number]>;
      seqs: Array<[number, number]>;
    };
    if (s.applied !== index)
      throw new Error(`snapshot data is at index ${s.applied}, its metadata says ${index}`);
    for (const [k, v] of s.data) kv.#data.set(k, v);
    for (const [c, q] of s.seqs) kv.#lastSeq.set(c, q);
    return kv;
  }
}
