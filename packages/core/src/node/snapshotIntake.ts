import type { Message } from "../raft/types.js";
import { decodeRuntimeSnapshot } from "./runtimeSnapshot.js";

/** What the intake needs from the node. */
export interface SnapshotIntakeContext {
  /** The state machine's {@link StateMachine.prepareRestore}, if it has one. */
  prepare: ((app: Uint8Array) => Promise<() => void>) | undefined;
  /** Whether Raft would install this snapshot message now (worth decoding ahead). */
  wanted: (m: Message) => boolean;
  /** Steps messages into Raft (and schedules the loop). */
  step: (msgs: Message[]) => void;
}

/**
 * Decodes a snapshot received from the leader before Raft sees it
 * ({@link StateMachine.prepareRestore}): the node goes on stepping and answering heartbeats
 * while a large state is decoded in slices, instead of holding its loop for the whole decode
 * when Raft hands the snapshot over. Once decoded, the snapshot message is stepped, and the
 * runtime installs the decoded state when it restores that snapshot.
 *
 * While one is being decoded, the log messages that arrive (appends, snapshots) wait behind it
 * and are stepped after it, in order. Raft tolerates any delay; stepping the leader's probe
 * append before the snapshot would only get it rejected and the snapshot sent again.
 */
export class SnapshotIntake {
  readonly #ctx: SnapshotIntakeContext;
  /** Messages waiting behind the snapshot being decoded, or null when none is. */
  #held: Message[] | null = null;
  /** The install of each decoded snapshot, by its data (Raft hands the same array over). */
  readonly #installs = new WeakMap<Uint8Array, () => void>();
  #closed = false;

  constructor(ctx: SnapshotIntakeContext) {
    this.#ctx = ctx;
  }

  /** Steps `msgs` into Raft, except what waits behind a snapshot being decoded. */
  receive(msgs: readonly Message[]): void {
    const now: Message[] = [];
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      if (this.#held !== null && (m.type === "append" || m.type === "snapshot")) {
        this.#held.push(m);
      } else if (m.type === "snapshot" && this.#ctx.prepare !== undefined && this.#ctx.wanted(m)) {
        this.#ctx.step(now.splice(0));
        this.#decode(m);
      } else now.push(m);
    }
    this.#ctx.step(now);
  }

  /** The install of the decoded state of the snapshot with this data, once (undefined: not decoded ahead). */
  takeInstall(data: Uint8Array): (() => void) | undefined {
    const install = this.#installs.get(data);
    this.#installs.delete(data);
    return install;
  }

  /** Drops what waits: the node stopped. */
  close(): void {
    this.#closed = true;
    this.#held = null;
  }

  #decode(m: Message): void {
    const held: Message[] = [];
    this.#held = held;
    const data = m.snapshot!.data;
    let decoded: Promise<() => void>;
    try {
      decoded = this.#ctx.prepare!(decodeRuntimeSnapshot(data).app);
    } catch (e) {
      decoded = Promise.reject(e);
    }
    decoded
      .then(
        (install) => {
          if (!this.#closed) this.#installs.set(data, install);
        },
        // Not reported here: restoring the snapshot decodes it again and stops the node with the reason.
        () => {},
      )
      .finally(() => {
        if (this.#closed || this.#held !== held) return;
        this.#held = null;
        this.#ctx.step([m]);
        this.receive(held);
      });
  }
}
