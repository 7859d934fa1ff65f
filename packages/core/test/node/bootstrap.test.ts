import { describe, expect, it } from "vitest";
import { MemoryNetwork, type Message, RaftNode, type Transport } from "../../src/index.js";
import { CounterMachine, GatedStorage } from "./runtimeHarness.js";

const peers = { a: "mem://a", b: "mem://b", c: "mem://c" };

/** A transport that records when it was started, and every message it was asked to send. */
function watchedTransport(inner: Transport, events: string[]): Transport {
  return {
    ...inner,
    start: (handler) => {
      events.push("transport started");
      return inner.start(handler);
    },
    send: (messages: readonly Message[]) => {
      if (messages.length > 0) events.push("sent");
      inner.send(messages);
    },
    addPeer: (id, url) => inner.addPeer(id, url),
    removePeer: (id) => inner.removePeer(id),
    stop: () => inner.stop(),
  };
}

/** Starts node "a" bootstrapping a, b and c on `storage`, recording its transport's use in `events`. */
function bootstrapA(storage: GatedStorage, events: string[]): Promise<RaftNode> {
  return RaftNode.start({
    id: "a",
    storage,
    transport: watchedTransport(new MemoryNetwork().transport("a"), events),
    stateMachine: new CounterMachine(),
    peers,
    bootstrap: true,
    tickMs: 10,
  });
}

describe("RaftNode.start with bootstrap", () => {
  it("makes the initial configuration durable before the transport starts or start() resolves", async () => {
    const storage = new GatedStorage();
    storage.hold();
    const events: string[] = [];
    let resolved = false;
    const started = bootstrapA(storage, events).then((n) => {
      resolved = true;
      return n;
    });
    // The bootstrap's write is at the gate: nothing may have started or been sent meanwhile.
    await expect.poll(() => storage.waiting).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(resolved).toBe(false);
    expect(events).toEqual([]);
    expect(storage.lastIndex()).toBe(0);
    storage.releaseAll();
    const node = await started;
    // A crash now (the process killed as start() returns) keeps the bootstrap: a restart finds
    // three configuration entries, one per voter, and does not bootstrap again.
    expect(storage.lastIndex()).toBe(3);
    expect(storage.initialState().hardState.term).toBe(1);
    expect(events[0]).toBe("transport started");
    expect(node.status().membership.voters).toEqual(["a", "b", "c"]);
    await node.stop();
  });

  it("fails to start, and sends nothing, when the bootstrap cannot be written", async () => {
    const storage = new GatedStorage();
    storage.save = () => Promise.reject(new Error("EIO: i/o error"));
    const events: string[] = [];
    await expect(bootstrapA(storage, events)).rejects.toThrow(/EIO/);
    expect(events).toEqual([]);
  });
});
