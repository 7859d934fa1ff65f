import { describe, expect, it } from "vitest";
import {
  ConfigError,
  decodeConfChange,
  MemoryStorage,
  type MessageType,
  message,
  type RaftConfig,
  RaftkitError,
  RawNode,
  type Ready,
} from "../../src/index.js";
import { dec, enc, entriesWithTerms, steadyLeader, UnitNode } from "../helpers/unit.js";

function config(storage: MemoryStorage, extra: Partial<RaftConfig> = {}): RaftConfig {
  return { id: "a", storage, electionTick: 10, heartbeatTick: 1, ...extra };
}

/** Persists and applies a Ready the way an application must, then advances. */
function handle(rn: RawNode, storage: MemoryStorage, rd: Ready): void {
  if (rd.snapshot) storage.applySnapshot(rd.snapshot);
  storage.append(rd.entries);
  if (rd.hardState) storage.setHardState(rd.hardState);
  for (const e of rd.committedEntries)
    if (e.type === "confChange") rn.applyConfChange(decodeConfChange(e.data));
  rn.advance(rd);
}

function errorCode(f: () => void): string | null {
  try {
    f();
    return null;
  } catch (e) {
    return e instanceof RaftkitError ? e.code : `not a RaftkitError: ${String(e)}`;
  }
}

describe("RawNode.bootstrap", () => {
  it("writes one configuration entry per voter, committed, in the first Ready", () => {
    const storage = new MemoryStorage();
    const rn = new RawNode(config(storage));
    rn.bootstrap(["a", "b", "c"]);
    expect(rn.hasReady()).toBe(true);
    const rd = rn.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: null, commit: 3 });
    expect(rd.entries.map((e) => [e.index, e.term, e.type])).toEqual([
      [1, 1, "confChange"],
      [2, 1, "confChange"],
      [3, 1, "confChange"],
    ]);
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(rd.mustSync).toBe(true);
    handle(rn, storage, rd);
    expect(rn.hasReady()).toBe(false);
    expect(rn.status().config.voters).toEqual(["a", "b", "c"]);
  });

  it("refuses storage that already holds a log", () => {
    const storage = new MemoryStorage();
    storage.append(entriesWithTerms([1]));
    expect(errorCode(() => new RawNode(config(storage)).bootstrap(["a"]))).toBe("BOOTSTRAP");
  });

  it("refuses storage that already holds a term or a vote", () => {
    const storage = new MemoryStorage();
    storage.setHardState({ term: 3, vote: null, commit: 0 });
    expect(errorCode(() => new RawNode(config(storage)).bootstrap(["a"]))).toBe("BOOTSTRAP");
    const voted = new MemoryStorage();
    voted.setHardState({ term: 0, vote: "b", commit: 0 });
    expect(errorCode(() => new RawNode(config(voted)).bootstrap(["a"]))).toBe("BOOTSTRAP");
  });

  it("refuses an empty list of voters", () => {
    expect(errorCode(() => new RawNode(config(new MemoryStorage())).bootstrap([]))).toBe("BOOTSTRAP");
  });
});

describe("Ready", () => {
  it("carries the hard state only when it changed", () => {
    const n = new UnitNode("a", { voters: ["a", "b", "c"], terms: [1], term: 1 });
    expect(n.rn.hasReady()).toBe(false);
    n.rn.tick();
    expect(n.rn.hasReady()).toBe(false);
    n.rn.campaign();
    const rd = n.rn.ready();
    expect(rd.hardState).toEqual({ term: 2, vote: "a", commit: 0 });
    n.write(rd);
    n.rn.advance(rd);
    n.step({ type: "voteResponse", from: "c", term: 2, reject: true });
    const next = n.rn.ready();
    expect(next.hardState).toBeNull();
  });

  it("reports role and leader changes as a soft state, once", () => {
    const n = new UnitNode("a", { voters: ["a", "b", "c"] });
    n.rn.campaign();
    expect(n.rn.ready().softState).toEqual({ lead: null, role: "candidate" });
    n.step({ type: "voteResponse", from: "b", term: 1 });
    const rd = n.rn.ready();
    expect(rd.softState).toEqual({ lead: "a", role: "leader" });
    n.rn.advance(rd);
    n.rn.propose(enc("x"));
    expect(n.rn.ready().softState).toBeNull();
  });

  // Raft paper Figure 2: currentTerm, votedFor and log[] are persisted "before responding to RPCs".
  it("mustSync is set when there are entries to write", () => {
    const n = steadyLeader();
    n.rn.propose(enc("x"));
    const rd = n.rn.ready();
    expect(rd.entries).toHaveLength(1);
    expect(rd.hardState).toBeNull();
    expect(rd.mustSync).toBe(true);
  });

  it("mustSync is set when the term or the vote changed", () => {
    const n = new UnitNode("b", { voters: ["a", "b", "c"], terms: [1], term: 1 });
    n.step({ type: "heartbeat", from: "a", term: 2 });
    const termOnly = n.rn.ready();
    expect(termOnly.hardState).toMatchObject({ term: 2, vote: null });
    expect(termOnly.entries).toEqual([]);
    expect(termOnly.mustSync).toBe(true);
    n.write(termOnly);
    n.rn.advance(termOnly);

    const v = new UnitNode("b", { voters: ["a", "b", "c"], terms: [1], term: 2 });
    v.step({ type: "vote", from: "c", term: 2, index: 1, logTerm: 1 });
    const voteOnly = v.rn.ready();
    expect(voteOnly.hardState).toMatchObject({ term: 2, vote: "c" });
    expect(voteOnly.mustSync).toBe(true);
  });

  it("mustSync is not set when only the commit index changed", () => {
    const n = new UnitNode("b", { voters: ["a", "b", "c"], terms: [1, 1], term: 1 });
    n.step({ type: "heartbeat", from: "a", term: 1, commit: 2 });
    const rd = n.rn.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: null, commit: 2 });
    expect(rd.entries).toEqual([]);
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1, 2]);
    expect(rd.mustSync).toBe(false);
  });

  // Raft paper §7 / Figure 13 (InstallSnapshot): the receiver saves the snapshot, then replies.
  // The Ready's messages acknowledge the snapshot's index, so the snapshot must be durable first.
  it("mustSync is set when the Ready carries a snapshot that its messages acknowledge", () => {
    const n = new UnitNode("b", { voters: ["a", "b", "c"], terms: [1], term: 1 });
    const confState = { ...n.rn.status().config };
    n.step({
      type: "snapshot",
      from: "a",
      term: 1,
      snapshot: { meta: { index: 10, term: 1, confState }, data: enc("s") },
    });
    const rd = n.rn.ready();
    expect(rd.snapshot?.meta.index).toBe(10);
    expect(rd.messages.map((m) => [m.type, m.index])).toEqual([["appendResponse", 10]]);
    expect(rd.mustSync).toBe(true);
  });

  it("hands out each entry, committed entry and message once, even when ready() is called again before advance", () => {
    const n = steadyLeader();
    n.rn.propose(enc("x"));
    const first = n.rn.ready();
    expect(first.entries.map((e) => e.index)).toEqual([2]);
    expect(first.messages.map((m) => m.to)).toEqual(["b", "c"]);
    n.rn.propose(enc("y"));
    const second = n.rn.ready();
    expect(second.entries.map((e) => e.index)).toEqual([3]);
    expect(second.messages.every((m) => m.entries.every((e) => e.index === 3))).toBe(true);
    n.write(first);
    n.rn.advance(first);
    n.write(second);
    n.rn.advance(second);
    n.step({ type: "appendResponse", from: "b", term: 1, index: 3 });
    const third = n.rn.ready();
    expect(third.entries).toEqual([]);
    expect(third.committedEntries.map((e) => dec(e.data))).toEqual(["x", "y"]);
    expect(n.rn.ready().committedEntries).toEqual([]);
  });

  it("advance makes the Ready's entries stable and its committed entries applied", () => {
    const n = new UnitNode("b", { voters: ["a", "b", "c"], term: 1 });
    n.step({
      type: "append",
      from: "a",
      term: 1,
      index: 0,
      logTerm: 0,
      entries: entriesWithTerms([1, 1]),
      commit: 1,
    });
    const rd = n.rn.ready();
    expect(n.r.raftLog.unstable.entries).toHaveLength(2);
    n.write(rd);
    n.rn.advance(rd);
    expect(n.r.raftLog.unstable.entries).toHaveLength(0);
    expect(n.r.raftLog.unstable.offset).toBe(3);
    expect(n.rn.status().applied).toBe(1);
    expect(n.rn.hasReady()).toBe(false);
  });

  it("read states are handed out once", () => {
    const n = new UnitNode("a", { voters: ["a"] });
    n.rn.campaign();
    n.persist();
    n.rn.readIndex(enc("r"));
    expect(n.rn.hasReady()).toBe(true);
    const rd = n.rn.ready();
    expect(rd.readStates.map((rs) => dec(rs.requestCtx))).toEqual(["r"]);
    n.rn.advance(rd);
    expect(n.rn.hasReady()).toBe(false);
  });
});

describe("restart from storage", () => {
  it("keeps the term, the vote and the log", () => {
    const n = new UnitNode("b", { voters: ["a", "b", "c"], terms: [1, 1], term: 1 });
    n.step({ type: "vote", from: "c", term: 3, index: 2, logTerm: 1 });
    n.step({
      type: "append",
      from: "c",
      term: 3,
      index: 2,
      logTerm: 1,
      entries: [{ index: 3, term: 3, type: "normal", data: enc("z") }],
    });
    n.persist();
    n.restart();
    const st = n.rn.status();
    expect([st.term, st.vote, st.role, st.lead]).toEqual([3, "c", "follower", null]);
    expect(n.logTerms()).toEqual([1, 1, 3]);
  });

  // Raft paper Figure 2: votedFor is persistent state, so a crash cannot lead to a second vote.
  it("a restarted node does not vote twice in one term", () => {
    const n = new UnitNode("b", { voters: ["a", "b", "c"], terms: [1], term: 1 });
    n.step({ type: "vote", from: "a", term: 2, index: 1, logTerm: 1 });
    n.persist();
    n.restart();
    n.step({ type: "vote", from: "c", term: 2, index: 5, logTerm: 1 });
    const [refusal] = n.take();
    expect(refusal).toMatchObject({ type: "voteResponse", to: "c", reject: true });
    n.step({ type: "vote", from: "a", term: 2, index: 1, logTerm: 1 });
    expect(n.take()[0]).toMatchObject({ type: "voteResponse", to: "a", reject: false });
  });

  it("a vote that was never persisted is forgotten by a crash", () => {
    const n = new UnitNode("b", { voters: ["a", "b", "c"], terms: [1], term: 1 });
    n.step({ type: "vote", from: "a", term: 2, index: 1, logTerm: 1 });
    n.restart();
    expect(n.rn.status().term).toBe(1);
    expect(n.rn.status().vote).toBeNull();
  });

  it("hands out again only the committed entries after the configured applied index", () => {
    const n = new UnitNode("b", {
      voters: ["a", "b", "c"],
      terms: [1, 1, 1, 1],
      term: 1,
      commit: 3,
      applied: 2,
    });
    const rd = n.rn.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([3]);
    expect(rd.hardState).toBeNull();
  });
});

describe("status", () => {
  it("a leader reports every member's progress, its own included", () => {
    const n = steadyLeader();
    n.rn.propose(enc("x"));
    const st = n.rn.status();
    expect(st).toMatchObject({
      id: "a",
      term: 1,
      vote: "a",
      commit: 1,
      lead: "a",
      role: "leader",
      leadTransferee: null,
    });
    expect(st.config.voters).toEqual(["a", "b", "c"]);
    expect(Object.keys(st.progress).sort()).toEqual(["a", "b", "c"]);
    expect(st.progress.b).toMatchObject({
      match: 1,
      next: 3,
      state: "replicate",
      inflight: 1,
      isLearner: false,
    });
    expect(st.progress.a!.match).toBe(1);
  });

  it("a follower reports no progress", () => {
    const n = new UnitNode("b", { voters: ["a", "b", "c"], terms: [1], term: 1 });
    n.step({ type: "heartbeat", from: "a", term: 1, commit: 1 });
    n.persist();
    const st = n.rn.status();
    expect(st).toMatchObject({ id: "b", role: "follower", lead: "a", commit: 1, applied: 1 });
    expect(st.progress).toEqual({});
  });
});

describe("RawNode.step", () => {
  const local: MessageType[] = ["hup", "beat", "unreachable", "snapshotStatus", "checkQuorum"];
  for (const type of local) {
    it(`refuses the local message type ${type}`, () => {
      const n = new UnitNode("a", { voters: ["a", "b"] });
      expect(errorCode(() => n.rn.step(message({ type, from: "b", to: "a" })))).toBe("STEP_LOCAL_MESSAGE");
      expect(n.r.role).toBe("follower");
      expect(n.r.term).toBe(0);
    });
  }

  it("ignores responses from nodes outside the cluster", () => {
    const n = steadyLeader();
    n.rn.propose(enc("x"));
    n.persist();
    n.step({ type: "appendResponse", from: "z", term: 1, index: 2 });
    expect(n.r.raftLog.committed).toBe(1);
  });
});

describe("config validation", () => {
  const bad: Array<[string, Partial<RaftConfig>]> = [
    ["an empty id", { id: "" }],
    ["heartbeatTick 0", { heartbeatTick: 0 }],
    ["electionTick not above heartbeatTick", { electionTick: 3, heartbeatTick: 3 }],
    ["a fractional electionTick", { electionTick: 10.5 }],
    ["maxInflightMsgs 0", { maxInflightMsgs: 0 }],
    ["maxInflightBytes below maxSizePerMsg", { maxSizePerMsg: 1000, maxInflightBytes: 999 }],
  ];
  for (const [what, extra] of bad) {
    it(`refuses ${what} with a ConfigError`, () => {
      expect(() => new RawNode(config(new MemoryStorage(), extra))).toThrow(ConfigError);
    });
  }

  it("accepts the smallest valid config", () => {
    expect(
      () => new RawNode(config(new MemoryStorage(), { electionTick: 2, heartbeatTick: 1 })),
    ).not.toThrow();
  });
});
