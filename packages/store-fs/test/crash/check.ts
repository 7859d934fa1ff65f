import type { MemoryStorage, Storage } from "@raftkit/core";
import { type Spec, toBatch } from "./workload.js";

/** A cheap digest of a storage's state: equal views have equal keys. */
export function key(s: Storage): string {
  const { hardState: hs } = s.initialState();
  return `${s.firstIndex()} ${s.lastIndex()} ${s.term(s.lastIndex())} ${hs.term} ${hs.vote} ${hs.commit} ${s.snapshot().meta.index}`;
}

/** Everything a storage shows, as a string that is equal for equal contents. */
export function view(s: Storage): string {
  const first = s.firstIndex();
  const last = s.lastIndex();
  const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
  const { hardState: hs, confState: cs } = s.initialState();
  const snap = s.snapshot();
  return JSON.stringify({
    first,
    last,
    termBefore: s.term(first - 1),
    entries: s.entries(first, last + 1).map((e) => [e.index, e.term, e.type, hex(e.data)]),
    hardState: [hs.term, hs.vote, hs.commit],
    confState: [cs.voters, cs.learners, cs.votersOutgoing, cs.learnersNext, cs.autoLeave],
    snapshot: [snap.meta.index, snap.meta.term, snap.meta.confState.voters, hex(snap.data)],
  });
}

export function apply(m: MemoryStorage, spec: Spec): void {
  if (spec.kind === "compact") m.compact(spec.index);
  else m.saveSync(toBatch(spec));
}
