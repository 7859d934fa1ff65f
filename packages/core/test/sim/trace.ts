/** A trace line's text, or a function producing it (formatted only when the line is shown). */
export type TraceText = string | (() => string);

/**
 * A bounded ring buffer of readable trace lines `time node event`. Lines are formatted lazily:
 * a run that passes never pays for turning its events into text. With a `sink` (verbose mode)
 * every line is also formatted and handed over as it is recorded.
 */
export class Trace {
  readonly #capacity: number;
  readonly #times: number[] = [];
  readonly #nodes: string[] = [];
  readonly #texts: TraceText[] = [];
  #next = 0;
  #count = 0;
  readonly #sink: ((line: string) => void) | undefined;

  constructor(capacity: number, sink?: (line: string) => void) {
    this.#capacity = Math.max(1, capacity);
    this.#sink = sink;
  }

  /** How many lines were recorded in all, including those that fell out of the buffer. */
  get total(): number {
    return this.#count;
  }

  /** Records one line; `node` is a node id or a subsystem name ("net", "client", "sim"). */
  add(time: number, node: string, text: TraceText): void {
    const i = this.#next;
    this.#times[i] = time;
    this.#nodes[i] = node;
    this.#texts[i] = text;
    this.#next = (i + 1) % this.#capacity;
    this.#count++;
    if (this.#sink) this.#sink(format(time, node, text));
  }

  /** The last `n` lines (all that are kept by default), oldest first. */
  lines(n = this.#capacity): string[] {
    const kept = Math.min(this.#count, this.#capacity, n);
    const out: string[] = [];
    for (let k = kept; k > 0; k--) {
      const i = (this.#next - k + this.#capacity) % this.#capacity;
      out.push(format(this.#times[i]!, this.#nodes[i]!, this.#texts[i]!));
    }
    return out;
  }
}

function format(time: number, node: string, text: TraceText): string {
  const t = `${time}`.padStart(7);
  return `${t}ms ${node.padEnd(6)} ${typeof text === "string" ? text : text()}`;
}
