import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Entry, MemoryNetwork, RaftNode, type StateMachine } from "@raftkit/core";
import { openFileStorage } from "@raftkit/store-fs";

/** Remembers how many entries it applied. */
class Count implements StateMachine {
  n = 0;
  apply(entries: readonly Entry[]): number[] {
    return entries.map(() => ++this.n);
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(String(this.n));
  }
  restore(data: Uint8Array): void {
    this.n = Number(new TextDecoder().decode(data)) || 0;
  }
}

const dir = await mkdtemp(join(tmpdir(), "raftkit-store-"));
// Opening recovers what a previous process left (a torn tail is cut off, other damage throws).
const storage = await openFileStorage(dir, { logger: console });
const node = await RaftNode.start({
  id: "solo",
  peers: { solo: "solo" },
  bootstrap: true,
  storage, // the node owns it from now on and closes it on stop()
  transport: new MemoryNetwork().transport("solo"),
  stateMachine: new Count(),
});
await new Promise<void>((resolve) => {
  node.leader$.subscribe((id) => id && resolve());
});
const { index } = await node.propose(new TextEncoder().encode("hello")); // durable (fdatasync) once resolved
console.log(`entry ${index} is on disk in ${dir}`);
await node.stop();
