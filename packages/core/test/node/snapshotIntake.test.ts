import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RaftNode } from "../../src/index.js";
import {
  decodeRuntimeSnapshot,
  encodeRuntimeSnapshot,
  joinRuntimeSnapshot,
} from "../../src/node/runtimeSnapshot.js";
import { useSimulatedTime } from "../../src/testing/index.js";
import { CounterMachine, CountingStorage, encode, RuntimeCluster } from "./runtimeHarness.js";

beforeEach(useSimulatedTime);

afterEach(() => {
  vi.useRealTimers();
});

/** A counter whose snapshots are decoded ahead (prepareRestore), as long as the test says. */
class DecodeAheadMachine extends CounterMachine {
  prepares = 0;
  installs = 0;
  restores = 0;
  #finish: ((ok: boolean) => void) | null = null;

  prepareRestore(data: Uint8Array): Promise<() => void> {
    this.prepares++;
    const { total } = JSON.parse(new TextDecoder().decode(data)) as { total: number };
    return new Promise((resolve, reject) => {
      this.#finish = (ok) =>
        ok
          ? resolve(() => {
              this.installs++;
              this.total = total;
            })
          : reject(new Error("cannot decode"));
    });
  }

  override restore(data: Uint8Array): void {
    this.restores++;
    super.restore(data);
  }

  finishDecoding(ok: boolean): void {
    this.#finish?.(ok);
  }
}

/** A 3-node cluster that snapshotted 40 entries away, and a new learner d that must be sent the snapshot. */
async function clusterAndLearner() {
  const c = new RuntimeCluster(["a", "b", "c"], { snapshotEntries: 20, snapshotCatchUpEntries: 2 });
  await c.startAll();
  const leader = await c.waitForLeader();
  for (let i = 0; i < 40; i++) await c.settle(leader.propose(encode(1)));
  const machine = new DecodeAheadMachine();
  const d = await RaftNode.start({
    id: "d",
    storage: new CountingStorage(),
    transport: c.net.transport("d"),
    stateMachine: machine,
    peers: { ...c.peers, d: "mem://d" },
    tickMs: 10,
  });
  let answers = 0;
  c.net.drop = (m) => {
    if (m.from === "d" && m.type === "heartbeatResponse") answers++;
    return false;
  };
  await c.settle(leader.addLearner("d", "mem://d"));
  await c.until(() => machine.prepares === 1, 5_000, "the snapshot to reach d");
  return { c, d, machine, answers: () => answers };
}

describe("a snapshot received from the leader", () => {
  it("is decoded before Raft sees it, while the node goes on answering heartbeats; then installed as decoded", async () => {
    const { c, d, machine, answers } = await clusterAndLearner();
    const before = answers();
    await c.until(() => answers() >= before + 5, 5_000, "d to answer heartbeats while it decodes");
    // Nothing installed yet, and the leader's appends wait behind the snapshot.
    expect(machine.total).toBe(0);
    expect(d.status().applied).toBe(0);
    machine.finishDecoding(true);
    await c.until(() => machine.total === 40, 5_000, "the learner to install the snapshot and catch up");
    expect(machine.installs).toBe(1);
    expect(machine.restores).toBe(0);
    expect(machine.prepares).toBe(1);
    await c.settle(d.stop());
    await c.stopAll();
  });

  it("is restored the usual way when decoding it ahead fails", async () => {
    const { c, d, machine } = await clusterAndLearner();
    machine.finishDecoding(false);
    await c.until(() => machine.total === 40, 5_000, "the learner to restore the snapshot and catch up");
    expect(machine.installs).toBe(0);
    expect(machine.restores).toBe(1);
    expect(d.status().stopped).toBe(false);
    await c.settle(d.stop());
    await c.stopAll();
  });
});

describe("joinRuntimeSnapshot", () => {
  it("gives encodeRuntimeSnapshot's bytes for a snapshot in pieces, copying a piece per turn", async () => {
    const pieces = Array.from({ length: 5 }, (_, i) => new Uint8Array(700_000 + i).fill(i + 1));
    const addresses = { a: "mem://a", b: "mem://b" };
    let turns = 0;
    const joined = await joinRuntimeSnapshot({ addresses, app: pieces }, async () => {
      turns++;
    });
    expect(Buffer.from(joined).equals(Buffer.from(encodeRuntimeSnapshot({ addresses, app: pieces })))).toBe(
      true,
    );
    expect(turns).toBeGreaterThanOrEqual(2);
    const rs = decodeRuntimeSnapshot(joined);
    expect(rs.addresses).toEqual(addresses);
    expect(Buffer.from(rs.app).equals(Buffer.concat(pieces))).toBe(true);
  });
});
