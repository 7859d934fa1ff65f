import type { WritableStorage } from "../raft/storage.js";
import type { HardState, Ready } from "../raft/types.js";

/**
 * Writes each Ready's hard state, entries and snapshot to storage as one durable batch, and
 * keeps track of which hard state is durable, which was last handed to storage, and which
 * commit-only change is still deferred.
 */
export class Persister {
  readonly #storage: WritableStorage;
  /** The last hard state known to be durable. */
  persisted: HardState = { term: 0, vote: null, commit: 0 };
  #deferredHardState: HardState | null = null;
  /** The last hard state handed to storage (durable or still being written). */
  #requestedHardState: HardState | null = null;

  constructor(storage: WritableStorage) {
    this.#storage = storage;
  }

  /** Whether hard state `hs` changes the term or vote: then nothing may be sent before it is durable. */
  voteChanged(hs: HardState | null): boolean {
    return hs !== null && (hs.term !== this.persisted.term || hs.vote !== this.persisted.vote);
  }

  async persist(rd: Ready): Promise<void> {
    const needsWrite = rd.entries.length > 0 || rd.snapshot !== null || rd.mustSync;
    if (!needsWrite) {
      // A commit-only change needs no fsync: commit can be recovered from the cluster.
      if (rd.hardState) this.#deferredHardState = rd.hardState;
      return;
    }
    const hardState = rd.hardState ?? this.#deferredHardState;
    this.#deferredHardState = null;
    if (hardState) this.#requestedHardState = hardState;
    await this.#storage.save({
      ...(hardState && { hardState }),
      ...(rd.entries.length > 0 && { entries: rd.entries }),
      ...(rd.snapshot && { snapshot: rd.snapshot }),
    });
    if (hardState) this.persisted = hardState;
  }

  /**
   * The hard state to store with a snapshot at `index`, now handed to storage: the stored
   * commit must not lag behind the snapshot, since commit-only hard states are written lazily.
   * NB: it is based on the last one handed to storage, not the last one durable: saves are
   * applied in call order, so an older one here would undo a newer term or vote.
   */
  snapshotHardState(index: number): HardState {
    const latest = this.#requestedHardState ?? this.persisted;
    const hardState = { ...latest, commit: Math.max(latest.commit, index) };
    this.#requestedHardState = hardState;
    return hardState;
  }

  /** Records that `hardState`, from {@link snapshotHardState}, is durable. */
  snapshotHardStateSaved(hardState: HardState): void {
    if (this.persisted.term === hardState.term && this.persisted.vote === hardState.vote) {
      this.persisted = { ...this.persisted, commit: Math.max(this.persisted.commit, hardState.commit) };
    }
  }
}
