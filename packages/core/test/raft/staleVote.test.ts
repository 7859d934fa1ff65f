import { describe, expect, it } from "vitest";
import { MemoryStorage, message, RawNode } from "../../src/index.js";

// Raft paper §5.1: "If a server receives a request with a stale term number, it rejects the
// request" — and the answer carries its term, so a candidate that fell behind catches up.
describe("a vote request from a stale term", () => {
  it("is rejected with the current term, and the candidate adopts it", () => {
    const storage = new MemoryStorage();
    const a = new RawNode({ id: "a", storage, electionTick: 10, heartbeatTick: 1 });
    a.bootstrap(["a", "b", "c"]);
    a.advance(a.ready());
    a.step(message({ type: "heartbeat", from: "b", to: "a", term: 5 }));
    a.advance(a.ready());
    a.step(message({ type: "vote", from: "c", to: "a", term: 3, index: 10, logTerm: 3 }));
    const rd = a.ready();
    expect(rd.messages).toMatchObject([{ type: "voteResponse", to: "c", term: 5, reject: true }]);

    const cs = new MemoryStorage();
    const c = new RawNode({ id: "c", storage: cs, electionTick: 10, heartbeatTick: 1 });
    c.bootstrap(["a", "b", "c"]);
    c.advance(c.ready());
    c.campaign();
    c.advance(c.ready());
    c.step(rd.messages[0]!);
    expect(c.status()).toMatchObject({ role: "follower", term: 5 });
  });
});
