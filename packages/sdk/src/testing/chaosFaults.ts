import type { SeededRandom } from "@raftkit/core";
import type { ChaosNode } from "./chaosNode.js";
import { ELECTION_TICK, TICK_MS } from "./chaosNode.js";
import type { Scheduler } from "./sim/scheduler.js";
import type { SimNetwork } from "./sim/simNetwork.js";

/** Which faults a run injects. Every kind is on by default. */
export interface FaultOptions {
  /** Kill a node (the disk keeps what was fsynced, perhaps a torn last write) and restart it later. */
  crashes?: boolean;
  /** Freeze a node's process for up to three election timeouts. */
  pauses?: boolean;
  /** Cut a node off from the others, or one link one way, healed later. */
  partitions?: boolean;
  /** Probability that a batch of messages is lost. Default 0.05. */
  loss?: number;
  /** Probability that a batch is delivered twice. Default 0.03. */
  duplicate?: number;
  /** Probability that a batch is delayed behind later ones. Default 0.05. */
  reorder?: number;
  /** Mean simulated ms between two faults. Default 150. */
  everyMs?: number;
}

export const DEFAULT_FAULTS: Required<FaultOptions> = {
  crashes: true,
  pauses: true,
  partitions: true,
  loss: 0.05,
  duplicate: 0.03,
  reorder: 0.05,
  everyMs: 150,
};

const ELECTION_MS = TICK_MS * ELECTION_TICK;

/**
 * Injects crashes, pauses and partitions at random times (exponential waits drawn from the
 * seed) until {@link stop}; at most a minority of the nodes is crashed at once, so the
 * cluster can make progress between faults.
 */
export class ChaosFaults {
  #stopped = false;
  readonly #counts = { crashes: 0, pauses: 0, partitions: 0 };
  readonly #o: ChaosFaultsOptions;

  constructor(o: ChaosFaultsOptions) {
    this.#o = o;
  }

  start(): void {
    this.#arm();
  }

  /** No new faults; partitions heal and link faults end. */
  stop(): void {
    this.#stopped = true;
    this.#o.net.heal();
    this.#o.net.faults = { ...this.#o.net.faults, loss: 0, duplicate: 0, slow: 0 };
  }

  describe(): string {
    const c = this.#counts;
    return `${c.crashes} crashes, ${c.pauses} pauses, ${c.partitions} partitions`;
  }

  #arm(): void {
    const { sched, rng, options } = this.#o;
    sched.after(-Math.log(1 - rng.next()) * options.everyMs, () => {
      if (this.#stopped) return;
      this.#inject();
      this.#arm();
    });
  }

  #inject(): void {
    const { sched, rng, net, nodes, options, restart, trace } = this.#o;
    const kinds = (["crashes", "pauses", "partitions"] as const).filter((k) => options[k]);
    if (kinds.length === 0) return;
    const up = nodes.filter((n) => n.current);
    if (up.length === 0) return;
    const n = rng.pick(up);
    switch (rng.pick(kinds)) {
      case "crashes": {
        if (nodes.length - up.length >= Math.floor((nodes.length - 1) / 2)) return;
        this.#counts.crashes++;
        trace(`fault: ${n.id} crashes`);
        n.crash();
        sched.after(20 + rng.next() * 3 * ELECTION_MS, () => {
          if (!n.current) restart(n);
        });
        return;
      }
      case "pauses": {
        this.#counts.pauses++;
        const ms = (0.3 + rng.next() * 2.7) * ELECTION_MS;
        trace(`fault: ${n.id} pauses for ${ms.toFixed(0)} ms`);
        sched.pause(n.proc, ms);
        return;
      }
      case "partitions": {
        this.#counts.partitions++;
        const others = nodes.filter((m) => m !== n);
        if (rng.chance(0.5)) {
          trace(`fault: ${n.id} is cut off`);
          for (const m of others) {
            net.block(n.id, m.id);
            net.block(m.id, n.id);
          }
        } else {
          const m = rng.pick(others);
          trace(`fault: ${n.id} → ${m.id} blocked one way`);
          net.block(n.id, m.id);
        }
        sched.after(50 + rng.next() * 3 * ELECTION_MS, () => {
          if (this.#stopped) return;
          trace("fault: partitions heal");
          net.heal();
        });
        return;
      }
    }
  }
}

/** What the fault injector acts on. */
export interface ChaosFaultsOptions {
  sched: Scheduler;
  rng: SeededRandom;
  net: SimNetwork;
  nodes: readonly ChaosNode[];
  options: Required<FaultOptions>;
  restart: (n: ChaosNode) => void;
  trace: (line: string) => void;
}
