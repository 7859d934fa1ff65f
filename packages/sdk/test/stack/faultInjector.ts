import type { SeededRandom } from "@raftkit/core";
import type { Scheduler } from "../../src/testing/sim/scheduler.js";
import type { SimNetwork } from "../../src/testing/sim/simNetwork.js";
import { FAULT_KINDS, maxClockOffset, type StackConfig } from "./stackConfig.js";
import type { StackNode } from "./stackNode.js";

export interface FaultStats {
  crashes: number;
  restarts: number;
  pauses: number;
  partitions: number;
  oneWayPartitions: number;
  clockJumps: number;
  diskErrors: number;
  corruptions: number;
}

/**
 * Injects the faults a seed enabled, at random times until {@link stop}: crashes (restarted
 * after a while on the same disk), process pauses of up to five election timeouts (half of them with the node cut off for longer), symmetric
 * and one-way partitions and connection resets (healed after a while), wall-clock jumps, and
 * disk errors (the node stops on its own; it is restarted like a crashed one), and once a run
 * a flipped bit in a crashed node's WAL (it must refuse to start; it is then replaced).
 */
export class FaultInjector {
  readonly stats: FaultStats = {
    crashes: 0,
    restarts: 0,
    pauses: 0,
    partitions: 0,
    oneWayPartitions: 0,
    clockJumps: 0,
    diskErrors: 0,
    corruptions: 0,
  };
  #stopped = false;
  readonly #sched: Scheduler;
  readonly #rng: SeededRandom;
  readonly #config: StackConfig;
  readonly #net: SimNetwork;
  readonly #nodes: readonly StackNode[];
  readonly #restart: (n: StackNode) => void;
  readonly #trace: (line: string) => void;
  /** Draws the corruption (a stream of its own: seeds without it draw as before). */
  readonly #corruptRng: SeededRandom;
  /** Whether a crashed node's disk may be damaged now (at most once a run, with the operator idle). */
  readonly #mayCorrupt: () => boolean;

  constructor(o: {
    sched: Scheduler;
    rng: SeededRandom;
    config: StackConfig;
    net: SimNetwork;
    nodes: readonly StackNode[];
    restart: (n: StackNode) => void;
    trace: (line: string) => void;
    corruptRng: SeededRandom;
    mayCorrupt: () => boolean;
  }) {
    this.#sched = o.sched;
    this.#rng = o.rng;
    this.#config = o.config;
    this.#net = o.net;
    this.#nodes = o.nodes;
    this.#restart = o.restart;
    this.#trace = o.trace;
    this.#corruptRng = o.corruptRng;
    this.#mayCorrupt = o.mayCorrupt;
  }

  start(): void {
    this.#arm();
  }

  /** No new faults; partitions heal. Crashed and failed nodes are restarted by the driver. */
  stop(): void {
    this.#stopped = true;
    this.#net.heal();
  }

  #arm(): void {
    const wait = -Math.log(1 - this.#rng.next()) * this.#config.faultEveryMs;
    this.#sched.after(wait, () => {
      if (this.#stopped) return;
      this.#inject();
      this.#arm();
    });
  }

  #inject(): void {
    const c = this.#config;
    const kinds = FAULT_KINDS.filter((k) => c[k]);
    if (kinds.length === 0) return;
    const live = this.#nodes.filter((n) => n.live);
    if (live.length === 0) return;
    const r = this.#rng;
    const n = live[r.int(live.length)]!;
    const election = c.tickMs * c.electionTick;
    switch (r.pick(kinds)) {
      case "crashes": {
        this.stats.crashes++;
        this.#trace(`fault: ${n.id} crashes`);
        n.crash();
        if (
          c.corruption &&
          this.stats.corruptions === 0 &&
          this.#mayCorrupt() &&
          this.#corruptRng.chance(0.3)
        ) {
          const d = n.disk.corrupt(this.#corruptRng);
          if (d) {
            this.stats.corruptions++;
            this.#trace(
              `fault: ${n.id}'s disk flips bit ${d.bit} of ${d.file} at byte ${d.offset}, ${d.where}`,
            );
          }
        }
        this.#sched.after(20 + r.next() * 4 * election, () => this.#restart(n));
        return;
      }
      case "pauses": {
        this.stats.pauses++;
        const ms = (0.3 + r.next() * 4.7) * election;
        // Half the time the stall comes with lost connectivity that outlasts it (a VM migrating):
        // the node resumes believing what it believed, and hears from no peer for a while.
        const cutOff = r.chance(0.5) ? ms + r.next() * 2 * election : 0;
        this.#trace(
          `fault: ${n.id} pauses for ${ms.toFixed(0)} ms${cutOff ? `, cut off from peers for ${cutOff.toFixed(0)} ms` : ""}`,
        );
        this.#sched.pause(n.proc, ms);
        if (cutOff > 0) {
          const others = this.#nodes.filter((m) => m !== n && m.state !== "lost");
          for (const m of others) {
            this.#net.block(n.id, m.id);
            this.#net.block(m.id, n.id);
          }
          this.#sched.after(cutOff, () => this.#net.rejoin(n.id));
        }
        return;
      }
      case "partitions": {
        const others = this.#nodes.filter((m) => m !== n && m.state !== "lost");
        if (others.length === 0) return;
        const kind = r.int(3);
        if (kind === 0) {
          this.stats.partitions++;
          this.#trace(`fault: ${n.id} is cut off`);
          for (const m of others) {
            this.#net.block(n.id, m.id);
            this.#net.block(m.id, n.id);
          }
        } else if (kind === 1) {
          this.stats.oneWayPartitions++;
          const m = others[r.int(others.length)]!;
          this.#trace(`fault: ${n.id} → ${m.id} blocked one way`);
          this.#net.block(n.id, m.id);
        } else {
          const m = others[r.int(others.length)]!;
          this.#trace(`fault: connection ${n.id} ↔ ${m.id} reset`);
          this.#net.reset(n.id, m.id);
          return;
        }
        this.#sched.after(50 + r.next() * 4 * election, () => {
          if (this.#stopped) return;
          this.#trace("fault: partitions heal");
          this.#net.heal();
        });
        return;
      }
      case "clockFaults": {
        this.stats.clockJumps++;
        const ms = Math.round((r.next() - 0.5) * maxClockOffset(c));
        this.#trace(`fault: ${n.id}'s wall clock jumps ${ms} ms`);
        n.jumpClock(ms);
        return;
      }
      case "diskErrors": {
        this.stats.diskErrors++;
        const code = r.chance(0.5) ? "EIO" : "ENOSPC";
        this.#trace(`fault: ${n.id}'s disk will fail the next write with ${code}`);
        n.disk.failNextWrite(code);
        return;
      }
    }
  }
}
