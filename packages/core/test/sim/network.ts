import type { Rng } from "./rng.js";
import { between } from "./rng.js";

/** How unreliable links are. Delays are in simulated ms. */
export interface LinkFaults {
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a delivered message is delivered twice (each copy with its own delay). */
  duplicateRate: number;
  /** Probability that a message takes a long detour: a delay in [longDelayMin, longDelayMax]. */
  longDelayRate: number;
  minDelay: number;
  maxDelay: number;
  longDelayMin: number;
  longDelayMax: number;
}

/** A network that loses nothing and delivers in 1–30 ms (still reordering, as delays vary). */
export const QUIET_LINKS: LinkFaults = {
  dropRate: 0,
  duplicateRate: 0,
  longDelayRate: 0,
  minDelay: 1,
  maxDelay: 30,
  longDelayMin: 100,
  longDelayMax: 1000,
};

/** A set of cut directed links, installed together and healed together. */
export interface Partition {
  kind: "symmetric" | "oneWay";
  /** The cut links, as [from, to]. */
  links: Array<[string, string]>;
  /** For the trace, e.g. "{1,2} | {3}" or "1 -/-> {2,3}". */
  description: string;
}

/** What happens to one sent message: dropped, or delivered once per delay (twice when duplicated). */
export type Fate = { dropped: "partition" | "loss" } | { delays: number[] };

/** Counters of what the network did, for the run's statistics. */
export interface NetworkStats {
  sent: number;
  lost: number;
  cut: number;
  duplicated: number;
  longDelays: number;
  partitions: number;
}

/**
 * The simulated network between nodes: decides each message's fate (loss, delay, duplication;
 * random delays also reorder) from a seeded PRNG, and keeps track of partitions — cut directed
 * links, which may overlap and are healed by id. It does not hold messages itself: the caller
 * schedules a delivery per returned delay and asks {@link isCut} again on delivery.
 */
export class Network {
  readonly #nodes: string[];
  faults: LinkFaults;
  readonly stats: NetworkStats = { sent: 0, lost: 0, cut: 0, duplicated: 0, longDelays: 0, partitions: 0 };
  readonly #rng: Rng;
  /** "from>to" → how many active partitions cut it. */
  readonly #cut = new Map<string, number>();
  readonly #active = new Map<number, Partition>();
  #nextId = 1;

  constructor(nodes: readonly string[], rng: Rng, faults: LinkFaults) {
    this.#nodes = [...nodes];
    this.#rng = rng;
    this.faults = faults;
  }

  /** Every node on the network, in the order they joined. */
  get nodes(): readonly string[] {
    return this.#nodes;
  }

  /** A node joins the network (a brand-new node started during the run). */
  addNode(id: string): void {
    if (!this.#nodes.includes(id)) this.#nodes.push(id);
  }

  /** Whether messages from `from` to `to` are currently cut off by a partition. */
  isCut(from: string, to: string): boolean {
    if (this.#cut.size === 0 || from === to) return false;
    return (this.#cut.get(`${from}>${to}`) ?? 0) > 0;
  }

  /** The active partitions by id. */
  get partitions(): ReadonlyMap<number, Partition> {
    return this.#active;
  }

  /** Installs a partition; returns its id for {@link heal}. */
  partition(p: Partition): number {
    const id = this.#nextId++;
    this.#active.set(id, p);
    for (const [from, to] of p.links) {
      const k = `${from}>${to}`;
      this.#cut.set(k, (this.#cut.get(k) ?? 0) + 1);
    }
    this.stats.partitions++;
    return id;
  }

  /** Heals one partition (a no-op if it is already healed). */
  heal(id: number): void {
    const p = this.#active.get(id);
    if (!p) return;
    this.#active.delete(id);
    for (const [from, to] of p.links) {
      const k = `${from}>${to}`;
      const n = (this.#cut.get(k) ?? 1) - 1;
      if (n <= 0) this.#cut.delete(k);
      else this.#cut.set(k, n);
    }
  }

  healAll(): void {
    for (const id of [...this.#active.keys()]) this.heal(id);
  }

  /**
   * Draws a random partition: symmetric (the nodes split into two sides that cannot talk) or
   * one-way (one node cannot send to, or cannot hear from, some others).
   */
  randomPartition(): Partition {
    const rng = this.#rng;
    const nodes = [...this.nodes];
    if (rng.chance(0.5)) {
      shuffle(rng, nodes);
      const k = between(rng, 1, nodes.length - 1);
      const a = nodes.slice(0, k).sort();
      const b = nodes.slice(k).sort();
      const links: Array<[string, string]> = [];
      for (const x of a) {
        for (const y of b) links.push([x, y], [y, x]);
      }
      return { kind: "symmetric", links, description: `{${a.join(",")}} | {${b.join(",")}}` };
    }
    const x = rng.pick(nodes);
    const others = nodes.filter((n) => n !== x);
    let chosen = others.filter(() => rng.chance(0.5));
    if (chosen.length === 0) chosen = [rng.pick(others)];
    const outgoing = rng.chance(0.5);
    const links = chosen.map((y): [string, string] => (outgoing ? [x, y] : [y, x]));
    const description = outgoing ? `${x} -/-> {${chosen.join(",")}}` : `{${chosen.join(",")}} -/-> ${x}`;
    return { kind: "oneWay", links, description };
  }

  /** Decides the fate of a message sent now from `from` to `to`. */
  route(from: string, to: string): Fate {
    this.stats.sent++;
    if (this.isCut(from, to)) {
      this.stats.cut++;
      return { dropped: "partition" };
    }
    const f = this.faults;
    const rng = this.#rng;
    if (f.dropRate > 0 && rng.chance(f.dropRate)) {
      this.stats.lost++;
      return { dropped: "loss" };
    }
    const delays = [this.#delay()];
    if (f.duplicateRate > 0 && rng.chance(f.duplicateRate)) {
      this.stats.duplicated++;
      delays.push(this.#delay());
    }
    return { delays };
  }

  #delay(): number {
    const f = this.faults;
    const rng = this.#rng;
    if (f.longDelayRate > 0 && rng.chance(f.longDelayRate)) {
      this.stats.longDelays++;
      return between(rng, f.longDelayMin, f.longDelayMax);
    }
    return between(rng, f.minDelay, f.maxDelay);
  }
}

/** Fisher–Yates, in place. */
export function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
  return items;
}
