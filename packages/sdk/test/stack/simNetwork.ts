import type { Message, NodeId, SeededRandom, Transport, TransportHandler } from "@raftkit/core";
import { decodeMessages, encodeMessages } from "@raftkit/transport-http";
import type { Scheduler, SimProcess } from "./scheduler.js";

/** How the links misbehave, drawn per seed. Probabilities are per batch of messages. */
export interface LinkFaults {
  loss: number;
  duplicate: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** A slow batch: delayed by up to `slowDelayMs` more (reorders it behind later ones). */
  slow: number;
  slowDelayMs: number;
}

/** A broken network, for the election-safety check's own test. */
export interface NetworkBugs {
  /** Every granted vote is also delivered to every other node, as if given to it. */
  forgeVotes?: boolean;
}

export interface NetworkStats {
  batchesSent: number;
  batchesLost: number;
  batchesDuplicated: number;
  batchesBlocked: number;
  resets: number;
  snapshotsSent: number;
  snapshotsFailed: number;
}

/**
 * The simulated network: every batch a node sends to one peer is encoded with the real wire
 * codec, subjected to the link's faults, and decoded by the receiver when it is delivered.
 * Delivery is a callback owned by the receiving process, so a paused node's inbox fills up
 * and is delivered on resume, and a crashed node's is lost.
 */
export class SimNetwork {
  readonly #sched: Scheduler;
  readonly #rng: SeededRandom;
  faults: LinkFaults;
  readonly #endpoints = new Map<NodeId, SimTransport>();
  /** Directed links that drop everything: "a>b". */
  readonly #blocked = new Set<string>();
  /** Bumped by a connection reset: what was in flight on the link is lost. */
  readonly #linkEpoch = new Map<string, number>();
  readonly stats: NetworkStats = {
    batchesSent: 0,
    batchesLost: 0,
    batchesDuplicated: 0,
    batchesBlocked: 0,
    resets: 0,
    snapshotsSent: 0,
    snapshotsFailed: 0,
  };

  readonly #bugs: NetworkBugs;

  constructor(sched: Scheduler, rng: SeededRandom, faults: LinkFaults, bugs: NetworkBugs = {}) {
    this.#sched = sched;
    this.#rng = rng;
    this.faults = faults;
    this.#bugs = bugs;
  }

  /** A transport for one incarnation of node `id`, run by `proc`. */
  transport(id: NodeId, proc: SimProcess): SimTransport {
    return new SimTransport(this, id, proc);
  }

  /** Blocks `from` → `to` (one way). */
  block(from: NodeId, to: NodeId): void {
    this.#blocked.add(`${from}>${to}`);
  }

  heal(): void {
    this.#blocked.clear();
  }

  /** Unblocks every link to and from `id`. */
  rejoin(id: NodeId): void {
    for (const key of [...this.#blocked]) {
      const [from, to] = key.split(">");
      if (from === id || to === id) this.#blocked.delete(key);
    }
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.#blocked.has(`${from}>${to}`);
  }

  /** Drops everything in flight between `a` and `b`, both ways, and tells both ends. */
  reset(a: NodeId, b: NodeId): void {
    this.stats.resets++;
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      const key = `${x}>${y}`;
      this.#linkEpoch.set(key, (this.#linkEpoch.get(key) ?? 0) + 1);
      this.#endpoints.get(x)?.unreachable(y);
    }
  }

  /** @internal */
  attach(t: SimTransport): void {
    this.#endpoints.set(t.id, t);
  }

  /** @internal */
  detach(t: SimTransport): void {
    if (this.#endpoints.get(t.id) === t) this.#endpoints.delete(t.id);
  }

  /** @internal The forgeVotes bug: copies of granted votes, readdressed to every other node. */
  forge(from: SimTransport, messages: readonly Message[]): void {
    if (!this.#bugs.forgeVotes) return;
    for (const m of messages) {
      if (m.type !== "voteResponse" || m.reject) continue;
      for (const other of this.#endpoints.keys()) {
        if (other !== m.to && other !== from.id) this.send(from, other, [{ ...m, to: other }]);
      }
    }
  }

  /** @internal Sends one batch, all to `to`. */
  send(from: SimTransport, to: NodeId, batch: Message[]): void {
    const f = this.faults;
    const rng = this.#rng;
    const key = `${from.id}>${to}`;
    const epoch = this.#linkEpoch.get(key) ?? 0;
    const snapshot = batch.find((m) => m.type === "snapshot");
    this.stats.batchesSent++;
    if (snapshot) this.stats.snapshotsSent++;
    const bytes = encodeMessages(batch);
    const fail = (): void => {
      if (snapshot) {
        this.stats.snapshotsFailed++;
        this.#sched.after(f.minDelayMs, () => from.snapshotDone(to, false), from.proc);
      }
    };
    if (this.#blocked.has(key) || !this.#endpoints.has(to)) {
      this.stats.batchesBlocked++;
      // A refused connection is noticed by the sender, as the HTTP transport notices it.
      this.#sched.after(f.minDelayMs, () => from.unreachable(to), from.proc);
      fail();
      return;
    }
    if (rng.chance(f.loss)) {
      this.stats.batchesLost++;
      fail();
      return;
    }
    const copies = rng.chance(f.duplicate) ? 2 : 1;
    if (copies === 2) this.stats.batchesDuplicated++;
    for (let c = 0; c < copies; c++) {
      let delay = f.minDelayMs + rng.next() * (f.maxDelayMs - f.minDelayMs);
      if (rng.chance(f.slow)) delay += rng.next() * f.slowDelayMs;
      const receiver = this.#endpoints.get(to)!;
      this.#sched.after(
        delay,
        () => {
          if ((this.#linkEpoch.get(key) ?? 0) !== epoch || this.#blocked.has(key)) {
            if (c === 0) fail();
            return;
          }
          const live = this.#endpoints.get(to);
          if (live !== receiver || !receiver.running) {
            if (c === 0) fail();
            return;
          }
          receiver.deliver(decodeMessages(bytes));
          if (snapshot && c === 0) {
            this.#sched.after(f.minDelayMs, () => from.snapshotDone(to, true), from.proc);
          }
        },
        receiver.proc,
      );
    }
  }
}

/** The {@link Transport} of one node incarnation on a {@link SimNetwork}. */
export class SimTransport implements Transport {
  readonly id: NodeId;
  readonly proc: SimProcess;
  readonly #net: SimNetwork;
  #handler: TransportHandler | null = null;
  running = false;
  readonly peers = new Map<NodeId, string>();

  constructor(net: SimNetwork, id: NodeId, proc: SimProcess) {
    this.#net = net;
    this.id = id;
    this.proc = proc;
  }

  async start(handler: TransportHandler): Promise<void> {
    this.#handler = handler;
    this.running = true;
    this.#net.attach(this);
  }

  send(messages: readonly Message[]): void {
    if (!this.running) return;
    const byPeer = new Map<NodeId, Message[]>();
    for (const m of messages) {
      const list = byPeer.get(m.to);
      if (list) list.push(m);
      else byPeer.set(m.to, [m]);
    }
    for (const [to, batch] of byPeer) this.#net.send(this, to, batch);
    this.#net.forge(this, messages);
  }

  addPeer(id: NodeId, address: string): void {
    this.peers.set(id, address);
  }

  removePeer(id: NodeId): void {
    this.peers.delete(id);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.#net.detach(this);
  }

  /** @internal */
  deliver(messages: Message[]): void {
    if (this.running) this.#handler?.receive(messages);
  }

  /** @internal */
  unreachable(peer: NodeId): void {
    if (this.running) this.#handler?.reportUnreachable(peer);
  }

  /** @internal */
  snapshotDone(peer: NodeId, ok: boolean): void {
    if (this.running) this.#handler?.reportSnapshot(peer, ok);
  }
}
