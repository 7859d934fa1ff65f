/**
 * A process with nothing but a startNode whose one peer accepts a connection and closes it at
 * once. Prints `{"ready":true}` once startNode resolves, or `{"ready":false,...}` once it
 * rejects; a silent exit (Node 20 leaving a fetch forever pending) prints nothing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNode } from "../../src/startNode.js";
import { testMachine } from "../e2e/testMachine.js";

const rude = createServer((socket) => socket.destroy());
await new Promise<void>((r) => rude.listen(0, "127.0.0.1", r));
const rudePort = (rude.address() as { port: number }).port;
// Only the start holds the process open from here: as in a real member's process.
rude.unref();
const dataDir = mkdtempSync(join(tmpdir(), "raftkit-rude-"));
const started = Date.now();
try {
  const node = await startNode({
    machine: testMachine,
    id: "n1",
    peers: { n1: "http://127.0.0.1:0", n2: `http://127.0.0.1:${rudePort}` },
    dataDir,
    secret: "s",
    listen: { port: 0 },
  });
  process.stdout.write(`${JSON.stringify({ ready: true, ms: Date.now() - started })}\n`);
  await node.stop();
} catch (e) {
  process.stdout.write(`${JSON.stringify({ ready: false, error: (e as Error).message })}\n`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
