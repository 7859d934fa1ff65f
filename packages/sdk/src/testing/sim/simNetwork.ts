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
  /**
   * Share of batches, in flight to a node that crashes, that still reach its next incarnation
   * if it is up when they arrive (the sender's queue held them behind a request to the dead
   * process, and sends them once that request fails). A batch arriving while the node is down
   * waits for it up to an election timeout. 0 keeps the old rule: they are lost.
   */
  redeliver: number;
  /** How long a batch for a node that is down waits for it (see {@link redeliver}). */
  redeliverWaitMs: number;
}

/** A broken network, for the election-safety check's own test. */
export interface NetworkBugs {
  /** Every granted vote is also delivered to every other node, as if given to it. */
  forgeVotes?: boolean;
  /**
   * ReadIndex contexts go on the wire as the bare sequence number (`++seq` from 0 per
   * incarnation), as before the fix, and an answer is read back as the receiver's current
   * incarnation's: a late answer to a previous incarnation's request passes for the new one's.
   */
  collidingReadContexts?: boolean;
}

export interface NetworkStats {
  batchesSent: number;
  batchesLost: number;
  batchesDuplicated: number;
  batchesBlocked: number;
  resets: number;
  snapshotsSent: number;
  snapshotsFailed: number;
  /** Batches delivered by the redelivery rule (perhaps to a later incarnation than they were sent to). */
  batchesLate: number;
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
    batchesLate: 0,
  };

  readonly #bugs: NetworkBugs;
  /** Decides redeliveries: a stream of its own, so seeds without them draw as before. */
  readonly #redeliverRng: SeededRandom;
  /** The collidingReadContexts bug: each node's latest incarnation, as its read requests name it. */
  readonly #incarnationOf = new Map<NodeId, string>();

  constructor(
    sched: Scheduler,
    rng: SeededRandom,
    faults: LinkFaults,
    bugs: NetworkBugs = {},
    redeliverRng: SeededRandom = rng,
  ) {
    this.#sched = sched;
    this.#rng = rng;
    this.#redeliverRng = redeliverRng;
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
    this.#unblock(() => true);
  }

  /** Unblocks every link to and from `id`. */
  rejoin(id: NodeId): void {
    this.#unblock((from, to) => from === id || to === id);
  }

  /** Unblocks the links `which` picks; each sender then reconnects, as an HTTP stream would. */
  #unblock(which: (from: NodeId, to: NodeId) => boolean): void {
    for (const key of [...this.#blocked]) {
      const [from, to] = key.split(">") as [NodeId, NodeId];
      if (!which(from, to)) continue;
      this.#blocked.delete(key);
      this.#connected(from, to);
    }
  }

  /** `from` opens a connection to `to` (if both run and the link is open), after a network delay. */
  #connected(from: NodeId, to: NodeId): void {
    const sender = this.#endpoints.get(from);
    if (sender === undefined) return;
    this.#sched.after(
      this.faults.minDelayMs,
      () => {
        if (this.#endpoints.get(to)?.running && !this.#blocked.has(`${from}>${to}`)) sender.reachable(to);
      },
      sender.proc,
    );
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

  /** @internal A node (re)starts: it and every running peer connect to each other, as HTTP streams do at start. */
  attach(t: SimTransport): void {
    this.#endpoints.set(t.id, t);
    for (const other of this.#endpoints.keys()) {
      if (other === t.id) continue;
      this.#connected(t.id, other);
      this.#connected(other, t.id);
    }
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
    const bytes = encodeMessages(
      this.#bugs.collidingReadContexts ? batch.map((m) => this.#collide(m)) : batch,
    );
    const fail = (): void => {
      if (snapshot) {
        this.stats.snapshotsFailed++;
        this.#sched.after(f.minDelayMs, () => from.snapshotDone(to, false), from.proc);
      }
    };
    if (this.#blocked.has(key) || !this.#endpoints.has(to)) {
      this.stats.batchesBlocked++;
      // A refused connection is noticed by the sender, as the HTTP transport notices it; only a
      // peer that is down refuses (ECONNREFUSED): a partition lets connections time out.
      const down = !this.#blocked.has(key);
      this.#sched.after(
        f.minDelayMs,
        () => {
          from.unreachable(to);
          if (down && !this.#endpoints.has(to)) from.gone(to);
        },
        from.proc,
      );
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
      const deliver = (r: SimTransport): void => {
        r.deliver(decodeMessages(bytes).map((m) => this.#uncollide(m)));
        if (snapshot && c === 0) {
          this.#sched.after(f.minDelayMs, () => from.snapshotDone(to, true), from.proc);
        }
      };
      const blocked = (): boolean => (this.#linkEpoch.get(key) ?? 0) !== epoch || this.#blocked.has(key);
      if (f.redeliver > 0 && this.#redeliverRng.chance(f.redeliver)) {
        // Owned by the simulation, not the receiver: it outlives the receiver's incarnation.
        this.#sched.after(delay, () => this.#late(to, deliver, c === 0 ? fail : () => {}, blocked));
        continue;
      }
      let settled = false;
      this.#sched.after(
        delay,
        () => {
          settled = true;
          if (blocked()) {
            if (c === 0) fail();
            return;
          }
          const live = this.#endpoints.get(to);
          if (live !== receiver || !receiver.running) {
            if (c === 0) fail();
            return;
          }
          deliver(receiver);
        },
        receiver.proc,
      );
      if (snapshot && c === 0) {
        // A crash cancels the receiver's timers, the delivery above with them; a real sender
        // sees its connection reset and reports the snapshot failed, so this one does too.
        this.#sched.after(delay + f.minDelayMs, () => {
          if (!settled && !receiver.running) {
            settled = true;
            fail();
          }
        });
      }
    }
  }

  /** Delivers to whichever incarnation of `to` runs now, waiting for one up to {@link LinkFaults.redeliverWaitMs}. */
  #late(to: NodeId, deliver: (r: SimTransport) => void, fail: () => void, blocked: () => boolean): void {
    const until = this.#sched.now + this.faults.redeliverWaitMs;
    const attempt = (): void => {
      if (blocked()) {
        fail();
        return;
      }
      const r = this.#endpoints.get(to);
      if (r?.running) {
        this.stats.batchesLate++;
        // Through the receiver's process: a paused node's inbox holds it.
        this.#sched.after(0, () => (r.running ? deliver(r) : fail()), r.proc);
        return;
      }
      if (this.#sched.now >= until) {
        fail();
        return;
      }
      this.#sched.after(this.faults.minDelayMs * 10, attempt);
    };
    attempt();
  }

  /** The collidingReadContexts bug, outgoing: `node/incarnation/seq` goes out as `seq`. */
  #collide(m: Message): Message {
    if (m.type !== "readIndex" || m.context === null) return m;
    const [node, incarnation, seq] = new TextDecoder().decode(m.context).split("/");
    if (seq === undefined || node !== m.from) return m;
    this.#incarnationOf.set(node, incarnation!);
    return { ...m, context: new TextEncoder().encode(seq) };
  }

  /** The collidingReadContexts bug, incoming: an answer's bare `seq` is read as the receiver's latest incarnation's. */
  #uncollide(m: Message): Message {
    if (!this.#bugs.collidingReadContexts || m.type !== "readIndexResponse" || m.context === null) return m;
    const incarnation = this.#incarnationOf.get(m.to);
    const seq = new TextDecoder().decode(m.context);
    if (incarnation === undefined || seq.includes("/")) return m;
    return { ...m, context: new TextEncoder().encode(`${m.to}/${incarnation}/${seq}`) };
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
  gone(peer: NodeId): void {
    if (this.running) this.#handler?.reportGone?.(peer);
  }

  /** @internal */
  reachable(peer: NodeId): void {
    if (this.running) this.#handler?.reportReachable?.(peer);
  }

  /** @internal */
  snapshotDone(peer: NodeId, ok: boolean): void {
    if (this.running) this.#handler?.reportSnapshot(peer, ok);
  }
}
