import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type Logger,
  type Message,
  message,
  type NodeStatus,
  type RaftNode,
  StoppedError,
} from "../../src/index.js";
import { useSimulatedTime } from "../../src/testing/index.js";
import { encode, RuntimeCluster } from "./runtimeHarness.js";

beforeEach(useSimulatedTime);

afterEach(() => {
  vi.useRealTimers();
});

/** A logger that keeps the lines of each level. */
function recordingLogger(): Logger & { lines: Record<"warn" | "error", string[]> } {
  const lines = { warn: [] as string[], error: [] as string[] };
  return {
    lines,
    debug: () => {},
    info: () => {},
    warn: (m) => lines.warn.push(m),
    error: (m) => lines.error.push(m),
  };
}

/** A running cluster whose leader applied a few entries, and one of its followers. */
async function cluster(logger: Logger): Promise<{ c: RuntimeCluster; leader: RaftNode; follower: RaftNode }> {
  const c = new RuntimeCluster(["a", "b", "c"], { logger });
  await c.startAll();
  const leader = await c.waitForLeader();
  for (const n of [1, 2, 3]) await c.settle(leader.propose(encode(n)));
  const follower = [...c.nodes.values()].find((n) => n !== leader)!;
  await c.until(() => follower.status().commit === leader.status().commit);
  return { c, leader, follower };
}

/** Delivers `m` to its addressee as if `m.from` had sent it. */
async function inject(c: RuntimeCluster, m: Message): Promise<void> {
  const wire = c.net.transport(m.from);
  wire.addPeer(m.to, `mem://${m.to}`);
  wire.send([m]);
  await vi.advanceTimersByTimeAsync(1);
}

function expectStopped(s: NodeStatus, reason: RegExp): void {
  expect(s).toMatchObject({ stopped: true, role: "follower", leader: null, progress: {} });
  expect(s.stoppedReason).toMatch(reason);
}

describe("a stopped node says so everywhere", () => {
  it("a leader stopped by a fatal error reports stopped, not leader, and rejects every call with StoppedError", async () => {
    const logger = recordingLogger();
    const { c, leader } = await cluster(logger);
    const statuses: NodeStatus[] = [];
    leader.status$.subscribe((s) => statuses.push(s));
    c.storages.get(leader.id)!.save = () => Promise.reject(new Error("disk gone"));
    const rejection = leader.propose(encode(4)).catch((e: unknown) => e);
    await c.until(() => leader.status().stopped);
    expectStopped(leader.status(), /fatal error: disk gone/);
    expectStopped(statuses.at(-1)!, /disk gone/);
    const rejected = await rejection;
    expect(rejected).toBeInstanceOf(StoppedError);
    expect((rejected as StoppedError).reason).toMatch(/disk gone/);
    for (const call of [() => leader.propose(encode(5)), () => leader.readIndex()]) {
      await expect(call()).rejects.toThrow(new RegExp(`^node ${leader.id} stopped before .*disk gone`));
    }
    expect(logger.lines.error.filter((l) => l.includes(`node ${leader.id}: stopped`))).toHaveLength(1);
    expect(logger.lines.error[0]).toMatch(/restart the node/);
    await c.stopAll();
  });

  it("a node stopped with stop() reports stopped, and later calls reject with StoppedError naming the reason", async () => {
    const { c, leader } = await cluster(recordingLogger());
    const statuses: NodeStatus[] = [];
    leader.status$.subscribe((s) => statuses.push(s));
    await leader.stop();
    expectStopped(leader.status(), /stop\(\)/);
    expectStopped(statuses.at(-1)!, /stop\(\)/);
    await expect(leader.propose(encode(1))).rejects.toThrow(
      /stopped before the proposal completed: .*stop\(\)/,
    );
    await c.stopAll();
  });
});

describe("step errors: a corrupt log stops the node, a bad message does not", () => {
  it("an append whose entries contradict a committed entry stops the follower with CorruptLogError's reason", async () => {
    const logger = recordingLogger();
    const { c, leader, follower } = await cluster(logger);
    const { term, commit } = follower.status();
    // The leader's previous entry at index 1 claims a term that committed entry 1 does not have.
    await inject(
      c,
      message({
        type: "append",
        from: leader.id,
        to: follower.id,
        term,
        index: 1,
        logTerm: term + 5,
        commit,
      }),
    );
    expectStopped(
      follower.status(),
      new RegExp(
        `committed entry 1 here has term \\d+ \\(at index 1, on a append from ${leader.id} at term ${term}\\)\\. ` +
          `Do not restart node ${follower.id} on this data directory`,
      ),
    );
    await expect(follower.propose(encode(1))).rejects.toBeInstanceOf(StoppedError);
    expect(logger.lines.error.filter((l) => l.includes(`node ${follower.id}: stopped`))).toHaveLength(1);
    await c.stopAll();
  });

  it("a heartbeat that commits past the end of the log stops the node: it lost entries it acknowledged", async () => {
    const { c, leader, follower } = await cluster(recordingLogger());
    const { term, commit } = follower.status();
    await inject(
      c,
      message({ type: "heartbeat", from: leader.id, to: follower.id, term, commit: commit + 10 }),
    );
    expectStopped(follower.status(), new RegExp(`commit ${commit + 10} is past the last index`));
    await c.stopAll();
  });

  it("a local message from a peer is dropped with a warning, and the node keeps serving", async () => {
    const logger = recordingLogger();
    const { c, leader, follower } = await cluster(logger);
    await inject(c, message({ type: "hup", from: leader.id, to: follower.id, term: follower.status().term }));
    expect(
      logger.lines.warn.some((l) => l.includes(`node ${follower.id}: ignored hup from ${leader.id}`)),
    ).toBe(true);
    expect(follower.status().stopped).toBe(false);
    await c.settle(follower.propose(encode(7)));
    await c.stopAll();
  });
});
