import { describe, expect, it } from "vitest";
import { configFromConfState, nextConfig } from "../../src/confchange/changer.js";
import {
  type ConfChange,
  ConfChangeError,
  type ConfState,
  encodeConfChange,
  message,
  SeededRandom,
} from "../../src/index.js";
import { trackerConfigToConfState } from "../../src/tracker/progressTracker.js";
import { Clients } from "./clients.js";
import { EventQueue } from "./eventQueue.js";
import { InvariantChecker, InvariantViolation } from "./invariants.js";
import { decodeCommand, encodeCommand, KvMachine } from "./kvMachine.js";
import { applyConfModel, confKey, ModelRefusal, quorumHolds } from "./membership.js";
import { type LinkFaults, Network, QUIET_LINKS } from "./network.js";
import { deriveSeed } from "./rng.js";
import { Trace } from "./trace.js";

describe("EventQueue", () => {
  it("pops by time, then in scheduling order", () => {
    const q = new EventQueue<string>();
    q.at(5, "a");
    q.at(1, "b");
    q.at(5, "c");
    q.at(3, "d");
    q.at(1, "e");
    const out: string[] = [];
    for (let it = q.pop(); it; it = q.pop()) out.push(`${it.time}${it.event}`);
    expect(out).toEqual(["1b", "1e", "3d", "5a", "5c"]);
    expect(q.now).toBe(5);
  });

  it("keeps order over many random insertions, and clamps the past to now", () => {
    const rng = new SeededRandom(7);
    const q = new EventQueue<number>();
    for (let i = 0; i < 2000; i++) q.at(rng.int(100), i);
    let last = { time: -1, seq: -1 };
    for (let it = q.pop(); it; it = q.pop()) {
      expect(it.time > last.time || (it.time === last.time && it.seq > last.seq)).toBe(true);
      last = it;
    }
    q.at(3, 1);
    expect(q.pop()!.time).toBe(99);
    q.after(2, 2);
    expect(q.peekTime()).toBe(101);
  });
});

describe("Network", () => {
  const nodes = ["n1", "n2", "n3"];

  it("delivers everything once on quiet links, within the delay bounds", () => {
    const net = new Network(nodes, new SeededRandom(1), QUIET_LINKS);
    for (let i = 0; i < 500; i++) {
      const fate = net.route("n1", "n2");
      if (!("delays" in fate)) throw new Error("dropped on a quiet network");
      expect(fate.delays).toHaveLength(1);
      expect(fate.delays[0]).toBeGreaterThanOrEqual(1);
      expect(fate.delays[0]).toBeLessThanOrEqual(30);
    }
    expect(net.stats.sent).toBe(500);
  });

  it("loses, duplicates and delays messages at roughly the configured rates", () => {
    const faults: LinkFaults = { ...QUIET_LINKS, dropRate: 0.2, duplicateRate: 0.1, longDelayRate: 0.05 };
    const net = new Network(nodes, new SeededRandom(2), faults);
    for (let i = 0; i < 10_000; i++) net.route("n1", "n2");
    expect(net.stats.lost / 10_000).toBeCloseTo(0.2, 1);
    expect(net.stats.duplicated / 8_000).toBeCloseTo(0.1, 1);
    expect(net.stats.longDelays).toBeGreaterThan(0);
  });

  it("cuts partitioned links in the stated directions until healed; partitions overlap", () => {
    const net = new Network(nodes, new SeededRandom(3), QUIET_LINKS);
    const a = net.partition({ kind: "oneWay", links: [["n1", "n2"]], description: "n1 -/-> n2" });
    expect(net.isCut("n1", "n2")).toBe(true);
    expect(net.isCut("n2", "n1")).toBe(false);
    expect(net.route("n1", "n2")).toEqual({ dropped: "partition" });
    const b = net.partition({
      kind: "symmetric",
      links: [
        ["n1", "n2"],
        ["n2", "n1"],
      ],
      description: "{n1} | {n2}",
    });
    net.heal(a);
    expect(net.isCut("n1", "n2")).toBe(true);
    expect(net.isCut("n2", "n1")).toBe(true);
    net.heal(b);
    net.heal(b);
    expect(net.isCut("n1", "n2")).toBe(false);
    expect(net.partitions.size).toBe(0);
  });

  it("draws partitions that split the nodes or cut one node one way", () => {
    const net = new Network(["n1", "n2", "n3", "n4", "n5"], new SeededRandom(4), QUIET_LINKS);
    const kinds = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const p = net.randomPartition();
      kinds.add(p.kind);
      expect(p.links.length).toBeGreaterThan(0);
      for (const [from, to] of p.links) expect(from).not.toBe(to);
      if (p.kind === "symmetric") {
        for (const [from, to] of p.links) expect(p.links).toContainEqual([to, from]);
      }
    }
    expect(kinds).toEqual(new Set(["symmetric", "oneWay"]));
  });

  it("is deterministic for a seed", () => {
    const run = () => {
      const net = new Network(nodes, new SeededRandom(5), {
        ...QUIET_LINKS,
        dropRate: 0.3,
        duplicateRate: 0.2,
      });
      return Array.from({ length: 100 }, () => JSON.stringify(net.route("n2", "n3")));
    };
    expect(run()).toEqual(run());
  });
});

describe("KvMachine", () => {
  it("puts, compares-and-sets, and skips a command applied before", () => {
    const kv = new KvMachine();
    expect(kv.get("x")).toBeNull();
    expect(kv.apply(1, { client: 0, seq: 1, op: "put", key: "x", value: 5, expected: null })).toEqual({
      duplicate: false,
      ok: true,
    });
    expect(kv.apply(2, { client: 1, seq: 1, op: "cas", key: "x", value: 6, expected: 4 }).ok).toBe(false);
    expect(kv.apply(3, { client: 1, seq: 2, op: "cas", key: "x", value: 7, expected: 5 }).ok).toBe(true);
    expect(kv.apply(4, { client: 0, seq: 1, op: "put", key: "x", value: 5, expected: null }).duplicate).toBe(
      true,
    );
    expect(kv.get("x")).toBe(7);
    expect(kv.applied).toBe(4);
  });

  it("round-trips through snapshot data and command encoding", () => {
    const kv = new KvMachine();
    kv.apply(1, { client: 2, seq: 1, op: "put", key: "y", value: 9, expected: null });
    kv.skip(2);
    const copy = KvMachine.restore(kv.snapshot(), 2);
    expect(copy.fingerprint()).toBe(kv.fingerprint());
    expect(copy.get("y")).toBe(9);
    expect(() => KvMachine.restore(kv.snapshot(), 3)).toThrow(/index 2/);
    const cmd = { client: 3, seq: 4, op: "cas" as const, key: "z", value: 1, expected: null };
    expect(decodeCommand(encodeCommand(cmd))).toEqual(cmd);
  });
});

describe("Clients", () => {
  it("records calls and returns with strictly increasing times", () => {
    const clients = new Clients(2, ["x"], new SeededRandom(1));
    const a = clients.begin(0, { kind: "put", key: "x", value: 1 }, "n1", 0, 10);
    const b = clients.begin(1, { kind: "get", key: "x" }, "n2", 0, 10);
    expect(() => clients.begin(0, { kind: "get", key: "x" }, "n1", 0, 10)).toThrow(/outstanding/);
    expect(clients.complete(a, 10, { ok: true })).toBe(true);
    expect(clients.complete(a, 11, { ok: true })).toBe(false);
    expect(clients.complete(b, 12, { output: 1 })).toBe(true);
    expect(clients.history).toEqual([
      { client: 0, op: "put", key: "x", value: 1, call: 10_000, return: 10_002 },
      { client: 1, op: "get", key: "x", call: 10_001, output: 1, return: 12_000 },
    ]);
    expect(clients.stats).toMatchObject({ issued: 2, writesAcked: 1, readsServed: 1 });
  });

  it("marks given-up operations unknown and forgets refused ones", () => {
    const clients = new Clients(2, ["x"], new SeededRandom(1));
    const a = clients.begin(0, { kind: "cas", key: "x", expected: null, value: 3 }, "n1", 0, 5);
    const b = clients.begin(1, { kind: "put", key: "x", value: 4 }, "n2", 1, 5);
    expect(clients.pendingWrite(0, a.seq, "n1", 0)).toBe(a);
    expect(clients.pendingWrite(1, b.seq, "n2", 0)).toBeUndefined(); // another incarnation of n2
    expect(clients.pendingOn("n2")).toEqual([b]);
    clients.refused(b);
    expect(clients.giveUp(a)).toBe(true);
    expect(clients.giveUp(a)).toBe(false);
    expect(clients.history).toEqual([
      { client: 0, op: "cas", key: "x", expected: null, value: 3, call: 5000, unknown: true },
    ]);
    expect(clients.allPending()).toEqual([]);
    expect(clients.stats).toMatchObject({ issued: 1, refused: 1, unknown: 1 });
  });

  it("tracks reads per node and draws fresh values for writes", () => {
    const clients = new Clients(3, ["x", "y"], new SeededRandom(9));
    const g = clients.begin(0, { kind: "get", key: "y" }, "n3", 2, 1);
    expect(clients.pendingReads("n3", 2)).toEqual([g]);
    expect(clients.pendingReads("n3", 1)).toEqual([]);
    const values = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const r = clients.nextRequest(1);
      if (r.kind !== "get") {
        expect(values.has(r.value)).toBe(false);
        values.add(r.value);
      }
    }
    expect(values.size).toBeGreaterThan(50);
  });
});

describe("Trace", () => {
  it("keeps the last lines and formats them lazily", () => {
    let formatted = 0;
    const trace = new Trace(3);
    for (let i = 0; i < 5; i++) {
      trace.add(i, "n1", () => {
        formatted++;
        return `event ${i}`;
      });
    }
    expect(formatted).toBe(0);
    const lines = trace.lines();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/2ms n1 +event 2$/);
    expect(lines[2]).toMatch(/4ms n1 +event 4$/);
    expect(trace.lines(1)).toHaveLength(1);
    expect(trace.total).toBe(5);
  });
});

describe("InvariantChecker", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const entry = (index: number, term: number, data = `e${index}`) => ({
    index,
    term,
    type: "normal" as const,
    data: enc(data),
  });
  /** A stand-in for a node's storage: entries from index 1. */
  const logOf = (entries: ReturnType<typeof entry>[]) => ({
    firstIndex: () => 1,
    lastIndex: () => entries.length,
    term: (i: number) => (i === 0 ? 0 : entries[i - 1]!.term),
    entries: (lo: number, hi: number) => entries.slice(lo - 1, hi - 1),
  });

  it("catches two leaders in one term", () => {
    const c = new InvariantChecker();
    c.onLeader("n1", 2, logOf([]));
    c.onLeader("n1", 2, logOf([]));
    expect(() => c.onLeader("n2", 2, logOf([]))).toThrow(/election safety/);
  });

  it("catches logs that disagree on an (index, term)", () => {
    const c = new InvariantChecker();
    const a = [entry(1, 1), entry(2, 1)];
    c.onPersist("n1", a, logOf(a));
    const b = [entry(1, 1), entry(2, 1, "other")];
    expect(() => c.onPersist("n2", b.slice(1), logOf(b))).toThrow(/log matching/);
    const d = [entry(1, 2), entry(2, 1)];
    expect(() => c.onPersist("n3", d, logOf(d))).toThrow(/log terms decrease/);
  });

  it("catches a committed entry that changes, and a leader missing one", () => {
    const c = new InvariantChecker();
    const a = [entry(1, 1), entry(2, 2)];
    c.onHardState("n1", { term: 2, vote: "n1", commit: 2 }, logOf(a));
    expect(c.committedLength).toBe(2);
    const b = [entry(1, 1), entry(2, 3)];
    expect(() => c.onHardState("n2", { term: 3, vote: null, commit: 2 }, logOf(b))).toThrow(
      /committed entry 2 changed/,
    );
    expect(() => c.onLeader("n3", 3, logOf([entry(1, 1)]))).toThrow(/leader completeness/);
    // A leader of term 2 (or earlier) need not hold what was committed in term 2.
    c.onLeader("n4", 2, logOf([entry(1, 1)]));
  });

  it("catches a node that applies out of order or beyond what is committed", () => {
    const c = new InvariantChecker();
    const a = [entry(1, 1), entry(2, 1), entry(3, 1)];
    c.onHardState("n1", { term: 1, vote: null, commit: 2 }, logOf(a));
    c.onApply("n1", a[0]!);
    expect(() => c.onApply("n1", a[2]!)).toThrow(/applied entry 3 after 1/);
    c.onApply("n1", a[1]!);
    expect(() => c.onApply("n1", a[2]!)).toThrow(/beyond its commit index/);
  });

  it("catches a node that votes twice in a term, or lowers its term", () => {
    const c = new InvariantChecker();
    c.onHardState("n1", { term: 2, vote: "n2", commit: 0 }, logOf([]));
    expect(() => c.onHardState("n1", { term: 2, vote: "n3", commit: 0 }, logOf([]))).toThrow(
      InvariantViolation,
    );
    expect(() => c.onHardState("n1", { term: 1, vote: null, commit: 0 }, logOf([]))).toThrow(
      /lowered its term/,
    );
    const grant = (to: string) => message({ type: "voteResponse", from: "n5", to, term: 4 });
    c.onMessage(grant("n1"));
    expect(() => c.onMessage(grant("n2"))).toThrow(/granted its vote/);
  });
});

describe("the membership model", () => {
  const conf = (voters: string[], more: Partial<ConfState> = {}): ConfState => ({
    voters,
    learners: [],
    votersOutgoing: [],
    learnersNext: [],
    autoLeave: false,
    ...more,
  });
  const cc = (transition: ConfChange["transition"], ...changes: ConfChange["changes"]): ConfChange => ({
    transition,
    changes,
  });

  it("makes simple changes of one voter, and refuses two at once", () => {
    const c = conf(["a", "b", "c"]);
    expect(confKey(applyConfModel(c, cc("auto", { type: "addLearner", nodeId: "d" })))).toBe(
      "{a,b,c} learners {d}",
    );
    expect(confKey(applyConfModel(c, cc("auto", { type: "addLearner", nodeId: "c" })))).toBe(
      "{a,b} learners {c}",
    );
    expect(
      () =>
        applyConfModel(c, {
          transition: "auto",
          changes: [
            { type: "addVoter", nodeId: "d" },
            { type: "removeNode", nodeId: "a" },
          ],
        }).voters.length,
    ).not.toThrow(); // two changes with "auto" enter a joint config
    expect(() => applyConfModel(c, cc("explicit"))).toThrow(ModelRefusal); // nothing to leave
  });

  it("enters joint configs (demoting through learnersNext) and leaves them", () => {
    const c = conf(["a", "b", "c"]);
    const joint = applyConfModel(
      c,
      cc("explicit", { type: "addVoter", nodeId: "d" }, { type: "addLearner", nodeId: "a" }),
    );
    expect(confKey(joint)).toBe("{b,c,d}&{a,b,c} next {a}");
    expect(() => applyConfModel(joint, cc("auto", { type: "addVoter", nodeId: "e" }))).toThrow(ModelRefusal);
    expect(confKey(applyConfModel(joint, cc("auto")))).toBe("{b,c,d} learners {a}");
    expect(applyConfModel(c, cc("implicit", { type: "removeNode", nodeId: "a" })).autoLeave).toBe(true);
  });

  it("agrees with the core's changer on random changes", () => {
    const rng = new SeededRandom(11);
    const ids = ["a", "b", "c", "d", "e", "f"];
    const types = ["addVoter", "addLearner", "removeNode"] as const;
    const transitions = ["auto", "implicit", "explicit"] as const;
    let cs = conf(["a", "b", "c"]);
    let refused = 0;
    let joint = 0;
    for (let i = 0; i < 3000; i++) {
      const n = rng.chance(0.2) ? 0 : 1 + rng.int(3);
      const change: ConfChange = {
        transition: rng.pick(transitions),
        changes: Array.from({ length: n }, () => ({ type: rng.pick(types), nodeId: rng.pick(ids) })),
      };
      let model: ConfState | null = null;
      try {
        model = applyConfModel(cs, change);
      } catch (e) {
        if (!(e instanceof ModelRefusal)) throw e;
      }
      let core: ConfState | null = null;
      try {
        core = trackerConfigToConfState(nextConfig(configFromConfState(cs), change));
      } catch (e) {
        if (!(e instanceof ConfChangeError)) throw e;
      }
      const what = `${confKey(cs)} + ${JSON.stringify(change)}`;
      expect(model === null ? "refused" : confKey(model), what).toBe(
        core === null ? "refused" : confKey(core),
      );
      if (model === null) refused++;
      else {
        if (model.votersOutgoing.length > 0) joint++;
        cs = model;
      }
    }
    expect(refused).toBeGreaterThan(100);
    expect(joint).toBeGreaterThan(100);
  });

  it("counts a quorum in each half of a joint config, never learners", () => {
    const j = conf(["a", "b", "d"], { votersOutgoing: ["a", "b", "c"], learners: ["x"] });
    expect(quorumHolds(j, (id) => ["a", "b"].includes(id))).toBe(true);
    expect(quorumHolds(j, (id) => ["a", "d"].includes(id))).toBe(false); // 1 of 3 outgoing
    expect(quorumHolds(j, (id) => ["c", "d", "x"].includes(id))).toBe(false);
    expect(quorumHolds(conf(["a", "b", "c", "d"]), (id) => ["a", "b"].includes(id))).toBe(false);
  });
});

describe("InvariantChecker: membership", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const confEntry = (index: number, term: number, change: ConfChange) => ({
    index,
    term,
    type: "confChange" as const,
    data: encodeConfChange(change),
  });
  const add = (type: "addVoter" | "addLearner" | "removeNode", nodeId: string): ConfChange => ({
    transition: "auto",
    changes: [{ type, nodeId }],
  });
  const log = [
    confEntry(1, 1, add("addVoter", "n1")),
    confEntry(2, 1, add("addVoter", "n2")),
    confEntry(3, 1, add("addVoter", "n3")),
    { index: 4, term: 2, type: "normal" as const, data: enc("x") },
    confEntry(5, 2, add("addLearner", "n4")),
    confEntry(6, 2, add("removeNode", "n3")),
  ];
  const logOf = (entries: typeof log) => ({
    firstIndex: () => 1,
    lastIndex: () => entries.length,
    term: (i: number) => (i === 0 ? 0 : entries[i - 1]!.term),
    entries: (lo: number, hi: number) => entries.slice(lo - 1, hi - 1),
  });
  const committed = () => {
    const c = new InvariantChecker();
    c.onHardState("n1", { term: 2, vote: "n1", commit: 6 }, logOf(log));
    return c;
  };

  it("derives the configuration at every committed index", () => {
    const c = committed();
    expect(c.configAt(0).key).toBe("{}");
    expect(c.configAt(2).key).toBe("{n1,n2}");
    expect(c.configAt(4).key).toBe("{n1,n2,n3}");
    expect(c.configAt(5).key).toBe("{n1,n2,n3} learners {n4}");
    expect(c.latestConfig).toMatchObject({ index: 6, key: "{n1,n2} learners {n4}" });
  });

  it("catches nodes that compute different configurations, or not the model's", () => {
    const c = new InvariantChecker({ checkConfModel: false });
    c.onHardState("n1", { term: 2, vote: "n1", commit: 6 }, logOf(log));
    const learner = c.configAt(5).state;
    c.onConfApplied("n1", 5, learner);
    expect(() =>
      c.onConfApplied("n2", 5, { ...learner, voters: ["n1", "n2", "n3", "n4"], learners: [] }),
    ).toThrow(/^configuration agreement: at index 5 node n2 computed \{n1,n2,n3,n4\}, but node n1 computed/);
    expect(() => committed().onConfApplied("n1", 5, c.configAt(4).state)).toThrow(/^configuration model/);
    // A bootstrapped node holds the full initial membership from the first bootstrap entry on.
    committed().onConfApplied("n1", 1, c.configAt(3).state, 3);
  });

  it("catches a node whose membership is not the configuration at its applied index", () => {
    const c = committed();
    c.checkMembership("n2", "{n1,n2,n3}", 4, "after a step");
    expect(() => c.checkMembership("n2", "{n1,n2,n3}", 6, "restarted")).toThrow(
      /^membership: node n2 restarted has membership \{n1,n2,n3\}, but the configuration at its applied index 6/,
    );
  });

  it("catches a non-voter or a removed node becoming leader", () => {
    const c = committed();
    expect(() => c.onLeader("n4", 3, logOf(log), c.configAt(6).state)).toThrow(/^non-voter leads: n4/);
    // n3 has its removal (entry 6) in its log but does not know it is committed: it may lead
    // with its applied configuration, as in etcd...
    c.onHardState("n3", { term: 2, vote: "n1", commit: 5 }, logOf(log));
    c.onLeader("n3", 4, logOf(log), c.configAt(5).state);
    // ...but not once it knows.
    c.onHardState("n3", { term: 4, vote: "n3", commit: 6 }, logOf(log));
    expect(() => c.onLeader("n3", 5, logOf(log), c.configAt(5).state)).toThrow(/^removed node leads: n3/);
    c.onLeader("n1", 6, logOf(log), c.configAt(6).state);
  });

  it("catches a leader that commits without a quorum of voters (learners do not count)", () => {
    const c = committed();
    const conf = c.configAt(6).state; // voters n1, n2; learner n4
    c.onLeaderCommit("n1", 3, 7, 3, conf, (id) => ["n1", "n2"].includes(id));
    expect(() => c.onLeaderCommit("n1", 3, 7, 3, conf, (id) => ["n1", "n4"].includes(id))).toThrow(
      /^commit quorum: leader n1 of term 3 committed 7@3, but only voters \[n1\] \(and learners \[n4\]\)/,
    );
  });
});

describe("deriveSeed", () => {
  it("gives different streams for different parts", () => {
    const seeds = new Set<number>();
    for (let s = 1; s <= 20; s++) for (let i = 0; i < 5; i++) seeds.add(deriveSeed(s, i, 0));
    expect(seeds.size).toBe(100);
  });
});
