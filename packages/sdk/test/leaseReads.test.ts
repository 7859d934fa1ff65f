import { MemoryStorage, type StorageBatch } from "@raftkit/core";
import { PausedProcess } from "@raftkit/core/testing";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { defineMachine } from "../src/defineMachine.js";
import { LocalCluster, useFakeTime } from "./localCluster.js";

const register = defineMachine({
  initial: () => ({ v: 0 }),
  commands: {
    set(s, v: number) {
      s.v = v;
      return v;
    },
  },
  queries: { value: (s) => s.v },
});

/** MemoryStorage whose writes take `delayMs` of (simulated) time, like a slow fsync. */
class SlowStorage extends MemoryStorage {
  delayMs = 0;
  override async save(batch: StorageBatch): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    this.saveSync(batch);
  }
}

beforeEach(useFakeTime);
afterEach(() => {
  vi.useRealTimers();
});

type Cluster = LocalCluster<typeof register>;

/** Lease reads are off unless enabled on every member. */
const leaseReads = () => ({ leaseReads: true });

async function leaderOf(c: Cluster, except: string[] = []) {
  const find = () =>
    [...c.nodes.values()].find((n) => !except.includes(n.id) && n.status().role === "leader");
  await c.until(() => find() !== undefined, 10_000);
  return find()!;
}

/** Lets simulated time run `ms` without waiting for anything. */
const run = (ms: number) => vi.advanceTimersByTimeAsync(ms);

/** Records a read's outcome as it settles, so a test can look at it while time runs. */
function watch<T>(p: Promise<T>): { value?: T; error?: unknown; settled: boolean } {
  const w: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  p.then(
    (value) => Object.assign(w, { value, settled: true }),
    (error: unknown) => Object.assign(w, { error, settled: true }),
  );
  return w;
}

describe('consistency: "lease" never reads stale state', () => {
  it("a new leader answers only once it committed an entry of its term", async () => {
    const c = new LocalCluster(register, ["a", "b", "c"], {}, { raft: leaseReads });
    await c.startAll();
    const old = await leaderOf(c);
    await c.settle(old.commands.set(0));
    await c.until(() => [...c.nodes.values()].every((n) => n.status().applied === old.status().commit));
    // The followers get the write but never learn that it committed.
    const base = old.status().commit;
    c.net.drop = (m) => m.from === old.id && m.commit > base;
    expect(await c.settle(old.commands.set(1))).toBe(1);
    await c.settle(old.stop());
    // The next leader cannot commit its first entry yet.
    c.net.drop = (m) => m.type === "appendResponse";
    const next = await leaderOf(c, [old.id]);
    const read = watch(next.query.value(undefined, { consistency: "lease" }));
    await run(300);
    expect(read.settled && read.value === 0).toBe(false);
    c.net.heal();
    await c.until(() => read.settled, 10_000);
    expect(read.value).toBe(1);
    await c.stopAll();
  });

  it("a leader cut off from the others stops answering before another leader can commit", async () => {
    const c = new LocalCluster(register, ["a", "b", "c"], {}, { raft: leaseReads });
    const since = new Map<string, number>();
    await c.startAll();
    for (const n of c.nodes.values())
      n.role$.subscribe((r) => {
        if (r === "leader") since.set(n.id, Date.now());
      });
    const old = await leaderOf(c);
    await c.settle(old.commands.set(1));
    // Lease reads in use: the leader keeps its lease renewed.
    expect(await c.settle(old.query.value(undefined, { consistency: "lease" }))).toBe(1);
    // Cut it off right after a check-quorum round (every election timeout from its election,
    // on a tick): it survives the next round too, so it keeps leading for two election
    // timeouts, long enough for another leader to be elected and commit.
    const period = 10 * 10;
    const at = since.get(old.id)!;
    await run(period - ((Date.now() - at) % period) + 2);
    c.net.isolate(old.id);
    const next = await leaderOf(c, [old.id]);
    expect(await c.settle(next.commands.set(2))).toBe(2);
    expect(old.status().role).toBe("leader");
    const read = watch(old.query.value(undefined, { consistency: "lease" }));
    await run(300);
    expect(read.settled && read.value === 1).toBe(false);
    c.net.heal();
    await c.until(() => read.settled, 10_000);
    expect(read.value).toBe(2);
    await c.stopAll();
  });

  it("a leader whose own writes are slow waits until it applied what is committed", {
    timeout: 60_000,
  }, async () => {
    const storages = new Map<string, SlowStorage>();
    const c = new LocalCluster(
      register,
      ["a", "b", "c"],
      {},
      {
        raft: leaseReads,
        storage: (id) => {
          const s = new SlowStorage();
          storages.set(id, s);
          return s;
        },
      },
    );
    await c.startAll();
    const leader = await leaderOf(c);
    const follower = [...c.nodes.values()].find((n) => n !== leader)!;
    await c.settle(leader.commands.set(1));
    expect(await c.settle(leader.query.value(undefined, { consistency: "lease" }))).toBe(1);
    storages.get(leader.id)!.delayMs = 60;
    // Two writes in a row: the second's slow write holds back the leader's apply of the first,
    // while the followers (fast disks) learn the first committed and answer its caller.
    const first = watch(follower.commands.set(2));
    await run(5);
    const second = watch(follower.commands.set(3));
    await c.until(() => first.settled, 10_000);
    expect(first.value).toBe(2);
    expect(leader.status().commit).toBeGreaterThan(leader.status().applied);
    const read = await c.settle(leader.query.value(undefined, { consistency: "lease" }));
    expect(read).toBeGreaterThanOrEqual(2);
    await c.until(() => second.settled, 10_000);
    await c.stopAll();
  });

  it("a paused leader that resumes after a new leader committed does not answer from its old state", async () => {
    const procs = new Map<string, PausedProcess>();
    const c = new LocalCluster(
      register,
      ["a", "b", "c"],
      {},
      {
        raft: leaseReads,
        process: (id) => {
          const p = new PausedProcess();
          procs.set(id, p);
          return p;
        },
      },
    );
    await c.startAll();
    const old = await leaderOf(c);
    await c.settle(old.commands.set(1));
    expect(await c.settle(old.query.value(undefined, { consistency: "lease" }))).toBe(1);
    // SIGSTOP: its clock keeps counting, its timers and traffic wait.
    procs.get(old.id)!.pause();
    const next = await leaderOf(c, [old.id]);
    expect(await c.settle(next.commands.set(2))).toBe(2);
    expect(old.status().role).toBe("leader");
    // SIGCONT, and a read before anything else runs.
    procs.get(old.id)!.resume();
    const read = watch(old.query.value(undefined, { consistency: "lease" }));
    await c.until(() => read.settled, 10_000);
    expect(read.value).toBe(2);
    await c.stopAll();
  });
});
