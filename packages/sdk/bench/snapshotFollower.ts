/**
 * The receiving side of `pnpm bench snapshot-stall`, in a process of its own so that its stalls
 * are its own: a learner with an empty data directory joins, is sent the leader's snapshot and
 * installs it. Args (JSON): id, peers, dataDir, layout. Says "ready" once listening; given
 * `{ index }`, waits until it applied that index and answers with its stalls meanwhile.
 */

import { benchNode, type SnapshotLog, until } from "./snapshotBenchNode.js";
import { StallProbe } from "./stallProbe.js";
import { type LayoutName, layouts } from "./stateLayouts.js";

const o = JSON.parse(process.argv[2]!) as {
  id: string;
  peers: Record<string, string>;
  dataDir: string;
  layout: LayoutName;
};
const log: SnapshotLog = { taken: [], restoredMs: [] };
const node = await benchNode(layouts[o.layout], { ...o, join: true, snapshotEntries: 1e9 }, log);
const probe = new StallProbe();
probe.start();
process.send!("ready");
process.once("message", async (m: { index: number }) => {
  const t0 = performance.now();
  if (process.env.BENCH_MARKS === "1")
    console.log(`mark follower ${o.layout}: start ${process.hrtime.bigint() / 1000n}`);
  await until(() => node.status().applied >= m.index, 120_000, "the follower to install the snapshot");
  const installedMs = performance.now() - t0;
  // A little longer: the entries after the snapshot, and anything the install left behind (GC).
  await new Promise((r) => setTimeout(r, 300));
  const stalls = probe.stop();
  if (process.env.BENCH_MARKS === "1") {
    console.log(`mark follower ${o.layout}: end ${process.hrtime.bigint() / 1000n}`);
    console.log(`follower stalls ${JSON.stringify(stalls.longest)}`);
  }
  process.send!({ stalls, installedMs, restoredMs: log.restoredMs[0] ?? null });
  await node.stop();
  process.exit(0);
});
