import { newSessionId } from "./sessionId.js";

/** One numbered command of a {@link CallerSession}. */
export interface SessionCall {
  readonly session: string;
  readonly seq: number;
  /** The session's lowest sequence number still waiting for an answer (this one included until `done`). */
  lowest(): number;
  /** Marks the command answered (or given up): the cluster may forget its result. */
  done(): void;
}

/**
 * The caller's side of a session (Raft thesis §6.3): numbers commands from 1, tracks which
 * still wait for an answer (the `lowest` each command carries), and moves to a new session id
 * once the cluster answered that this one expired. Used by CommandRunner and createClient.
 */
export class CallerSession {
  #id: string;
  #next = 1;
  #outstanding = new Set<number>();
  readonly #now: () => number;
  readonly #newId: (createdAt: number) => string;

  constructor(now: () => number = Date.now, newId: (createdAt: number) => string = newSessionId) {
    this.#now = now;
    this.#newId = newId;
    this.#id = newId(now());
  }

  get id(): string {
    return this.#id;
  }

  /** Numbers the next command of the current session; call `done()` once it is answered. */
  begin(): SessionCall {
    const seq = this.#next++;
    const outstanding = this.#outstanding;
    outstanding.add(seq);
    return {
      session: this.#id,
      seq,
      lowest: () => Math.min(...outstanding),
      done: () => {
        outstanding.delete(seq);
      },
    };
  }

  /**
   * Starts a new session after the cluster answered that `expired` expired; does nothing if
   * that session was already replaced (by another command that got the same answer).
   * Commands still waiting under the old session keep its numbering.
   */
  renew(expired: string): void {
    if (expired !== this.#id) return;
    this.#id = this.#newId(this.#now());
    this.#next = 1;
    this.#outstanding = new Set();
  }
}
