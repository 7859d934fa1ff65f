import { describe, expect, it } from "vitest";
import {
  type ConfChange,
  type Entry,
  encodeConfChange,
  MemoryStorage,
  message,
  RawNode,
} from "../../src/index.js";

const conf = (index: number, cc: ConfChange): Entry => ({
  term: 1,
  index,
  type: "confChange",
  data: encodeConfChange(cc),
});
const addVoter = (id: string): ConfChange => ({
  transition: "auto",
  changes: [{ type: "addVoter", nodeId: id }],
});

/**
 * Node c holds, past what it applied, a committed configuration entry that shrinks the voters
 * from {a,b,c,d,e} to {c,d,e} (entered as a joint config). It does not know that entry is
 * committed, wins an election with the old configuration's votes (a and b), and appends its
 * empty entry.
 */
function staleLeader(): RawNode {
  const storage = new MemoryStorage();
  const ids = ["a", "b", "c", "d", "e"];
  const shrink: ConfChange = {
    transition: "explicit",
    changes: [
      { type: "removeNode", nodeId: "a" },
      { type: "removeNode", nodeId: "b" },
    ],
  };
  storage.append([...ids.map((id, i) => conf(i + 1, addVoter(id))), conf(6, shrink)]);
  storage.setHardState({ term: 1, vote: null, commit: 5 });
  const n = new RawNode({ id: "c", storage, electionTick: 10, heartbeatTick: 1 });
  const persist = (): void => {
    const rd = n.ready();
    storage.saveSync({ hardState: rd.hardState, entries: rd.entries });
    for (const e of rd.committedEntries) if (e.index <= 5) n.applyConfChange(addVoter(ids[e.index - 1]!));
    n.advance(rd);
  };
  persist();
  n.campaign();
  persist();
  for (const from of ["a", "b"]) n.step(message({ type: "voteResponse", from, to: "c", term: 2 }));
  expect(n.status().role).toBe("leader");
  persist();
  return n;
}

// Raft thesis §4.3: once a configuration entry exists, decisions about later entries need the
// new configuration's quorum. A leader that has not applied it yet must not commit later
// entries with the old configuration's quorum alone.
describe("commit with configuration entries the leader has not applied", () => {
  it("an entry after the configuration entry needs a quorum of the new configuration too", () => {
    const n = staleLeader();
    const last = n.raft.raftLog.lastIndex();
    expect(last).toBe(7);
    // a and b (the old configuration's majority with c) have everything...
    for (const from of ["a", "b"])
      n.step(message({ type: "appendResponse", from, to: "c", term: 2, index: last }));
    // ...but that is no quorum of {c, d, e}, so the leader's empty entry is not committed (and
    // with it nothing before it, as a leader only commits by counting its own term's entries).
    expect(n.status().commit).toBe(5);
    // With d too, {c, d} is a majority of {c, d, e}: now it commits.
    n.step(message({ type: "appendResponse", from: "d", to: "c", term: 2, index: last }));
    expect(n.status().commit).toBe(7);
  });

  it("a node whose removal is in its log but not known committed still campaigns (as etcd)", () => {
    const storage = new MemoryStorage();
    storage.append([
      ...["a", "b", "c"].map((id, i) => conf(i + 1, addVoter(id))),
      conf(4, { transition: "auto", changes: [{ type: "removeNode", nodeId: "c" }] }),
    ]);
    storage.setHardState({ term: 1, vote: null, commit: 3 });
    const n = new RawNode({ id: "c", storage, electionTick: 10, heartbeatTick: 1 });
    const rd = n.ready();
    for (const id of ["a", "b", "c"]) n.applyConfChange(addVoter(id));
    n.advance(rd);
    // The removal may never commit (its leader may have died with it): c may be needed to commit
    // it, or to replace it. Votes for c come from its applied configuration, whose quorums
    // overlap with any that decided since.
    n.campaign();
    expect(n.status().role).toBe("candidate");
    expect(n.status().term).toBe(2);
  });
});
