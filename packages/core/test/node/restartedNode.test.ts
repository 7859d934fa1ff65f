import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Message } from "../../src/index.js";
import { useSimulatedTime } from "../../src/testing/index.js";
import { encode, RuntimeCluster } from "./runtimeHarness.js";

beforeEach(useSimulatedTime);
afterEach(() => {
  vi.useRealTimers();
});

/** Records a promise's outcome as it settles. */
function watch<T>(p: Promise<T>): { value?: T; settled: boolean } {
  const w: { value?: T; settled: boolean } = { settled: false };
  p.then(
    (value) => Object.assign(w, { value, settled: true }),
    () => Object.assign(w, { settled: true }),
  );
  return w;
}

describe("a restarted RaftNode", () => {
  it("does not take a late answer to its previous incarnation's read for its own", async () => {
    const c = new RuntimeCluster(["a", "b", "c"]);
    await c.startAll();
    const leader = await c.waitForLeader();
    const f = c.ids.find((id) => id !== leader.id)!;
    await c.settle(leader.propose(encode(1)));
    // Two reads: the second's answer is held back. (The new incarnation's first round goes
    // out before it knows a leader and is dropped, so its first answered round is its second.)
    await c.settle(c.node(f).readIndex());
    const held: Message[] = [];
    c.net.drop = (m) => {
      if (m.type !== "readIndexResponse" || m.to !== f) return false;
      held.push(m);
      return true;
    };
    c.node(f)
      .readIndex({ timeoutMs: 100 })
      .catch(() => {});
    await c.until(() => held.length === 1);
    const stale = held[0]!;
    await c.settle(c.node(f).stop());
    await c.settle(leader.propose(encode(10)));
    const committed = leader.status().commit;
    expect(stale.index).toBeLessThan(committed);
    await c.start(f);
    const read = watch(c.node(f).readIndex());
    await c.until(() => held.length === 2, 5_000, "the new incarnation's read to be answered (and held)");
    // The old incarnation's answer arrives late.
    c.net.heal();
    const late = c.net.transport(leader.id);
    late.addPeer(f, `mem://${f}`);
    late.send([stale]);
    await vi.advanceTimersByTimeAsync(50);
    expect(read.settled && read.value! < committed).toBe(false);
    await c.until(() => read.settled);
    expect(read.value).toBeGreaterThanOrEqual(committed);
    await c.stopAll();
  });

  it("with leaseReads, ignores (pre-)vote requests for an election timeout, then grants them", async () => {
    const c = new RuntimeCluster(["a", "b", "c"], { leaseReads: true });
    const { answers, ask } = await restartFollowerAndAsk(c);
    ask();
    await vi.advanceTimersByTimeAsync(50);
    expect(answers.filter((m) => !m.reject)).toEqual([]);
    // electionTick 10 × tickMs 10: after 100 ms of its own ticks it may vote again.
    await vi.advanceTimersByTimeAsync(60);
    ask();
    await c.until(() => answers.some((m) => !m.reject), 100, "a granted pre-vote");
    await c.stopAll();
  });

  it("without leaseReads, ignores (pre-)vote requests for two ticks (to hear from a live leader first), then grants them", async () => {
    // Five members: the one that asks makes no quorum with the restarted node.
    const c = new RuntimeCluster(["a", "b", "c", "d", "e"]);
    const { answers, ask } = await restartFollowerAndAsk(c);
    ask();
    await vi.advanceTimersByTimeAsync(5);
    expect(answers).toEqual([]);
    // tickMs 10: after two of its own ticks it votes.
    await vi.advanceTimersByTimeAsync(20);
    ask();
    await c.until(() => answers.some((m) => !m.reject), 20, "a granted pre-vote");
    await c.stopAll();
  });

  it("without leaseReads, grants at once a member that makes a quorum with it (of three, any other): no leader has one", async () => {
    const c = new RuntimeCluster(["a", "b", "c"]);
    const { answers, ask } = await restartFollowerAndAsk(c);
    ask();
    await vi.advanceTimersByTimeAsync(5);
    expect(answers.map((m) => m.reject)).toEqual([false]);
    await c.stopAll();
  });
});

/**
 * Starts `c`, stops a follower and starts it again so that only pre-vote requests reach it, and
 * returns its pre-vote answers and `ask()`, which sends it a pre-vote request from another
 * follower with a log far ahead of it (so only the vote-ignoring window can make it refuse).
 */
async function restartFollowerAndAsk(c: RuntimeCluster): Promise<{ answers: Message[]; ask: () => void }> {
  await c.startAll();
  const leader = await c.waitForLeader();
  const [f, other] = c.ids.filter((id) => id !== leader.id) as [string, string];
  await c.settle(c.node(f).stop());
  // Only what the test sends reaches the restarted node; its answers are recorded.
  const answers: Message[] = [];
  c.net.drop = (m) => {
    if (m.from === f && m.type === "preVoteResponse") answers.push(m);
    return (m.to === f || m.from === f) && m.type !== "preVote";
  };
  await c.start(f);
  const term = c.node(f).status().term;
  const preVote: Message = {
    type: "preVote",
    from: other,
    to: f,
    term: term + 1,
    index: 1_000,
    logTerm: 1_000,
    commit: 0,
    entries: [],
    reject: false,
    rejectHint: 0,
    context: null,
    snapshot: null,
  };
  const ask = (): void => {
    const t = c.net.transport(other);
    t.addPeer(f, `mem://${f}`);
    t.send([preVote]);
  };
  return { answers, ask };
}
