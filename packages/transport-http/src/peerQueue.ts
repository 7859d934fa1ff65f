import type { Message } from "@raftkit/core";

/**
 * The messages waiting for one peer, bounded by count and by encoded bytes.
 *
 * Invariant: `bytes` is the sum of the sizes of the queued messages.
 *
 * @internal
 */
export class PeerQueue {
  #messages: Message[] = [];
  #sizes: number[] = [];
  #bytes = 0;

  constructor(
    readonly maxBytes: number,
    readonly maxMessages: number,
  ) {}

  get length(): number {
    return this.#messages.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Queues `m` of `size` encoded bytes, or refuses it (returns false) when that would pass a
   * bound: the newest message is the one dropped, so what is queued keeps its order. An empty
   * queue takes any one message, so that a message larger than the bound can still be sent.
   */
  push(m: Message, size: number): boolean {
    const n = this.#messages.length;
    if (n > 0 && (n >= this.maxMessages || this.#bytes + size > this.maxBytes)) return false;
    this.#messages.push(m);
    this.#sizes.push(size);
    this.#bytes += size;
    return true;
  }

  /** Takes the oldest messages whose sizes add up to at most `maxBytes`, and never fewer than one. */
  take(maxBytes: number): { messages: Message[]; bytes: number } {
    let bytes = 0;
    let n = 0;
    while (n < this.#sizes.length) {
      const size = this.#sizes[n]!;
      if (n > 0 && bytes + size > maxBytes) break;
      bytes += size;
      n++;
    }
    const messages = this.#messages.splice(0, n);
    this.#sizes.splice(0, n);
    this.#bytes -= bytes;
    return { messages, bytes };
  }

  clear(): void {
    this.#messages = [];
    this.#sizes = [];
    this.#bytes = 0;
  }
}
