/**
 * The demo until the SDK lands: a five-node Raft cluster simulated in this process (the real
 * @raftkit/core, in-memory storage, a simulated network), with a scripted story — election,
 * writes, a leader crash, a partition, recovery — printed as a table of what happens.
 */
import {
  decodeConfChange,
  type Message,
  MemoryStorage,
  type NodeId,
  ProposalDroppedError,
  RawNode,
  SeededRandom,
} from "@raftkit/core";

const TICK_MS = 100;
const ids: NodeId[] = ["n1", "n2", "n3", "n4", "n5"];
const random = new SeededRandom(Number(process.env.DEMO_SEED ?? 7));
const realDelayMs = process.env.CI ? 0 : 15;

interface SimNode {
  node: RawNode | null;
  storage: MemoryStorage;
  applied: string[];
  lastRole: string;
  lastCommit: number;
}

const nodes = new Map<NodeId, SimNode>();
let now = 0;
let inFlight: { at: number; m: Message }[] = [];
let cut = new Set<NodeId>();

function start(id: NodeId, fresh: boolean): void {
  const sim = nodes.get(id) ?? { node: null, storage: new MemoryStorage(), applied: [], lastRole: "", lastCommit: 0 };
  sim.node = new RawNode({
    id,
    storage: sim.storage,
    electionTick: 10,
    heartbeatTick: 1,
    preVote: true,
    checkQuorum: true,
    random: new SeededRandom(random.int(2 ** 31)),
  });
  sim.applied = [];
  sim.lastRole = "follower";
  if (fresh) sim.node.bootstrap(ids);
  nodes.set(id, sim);
}

const rows: string[][] = [];
function row(event: string, node: string, detail: string): void {
  const r = [`${(now / 1000).toFixed(1)}s`, event, node, detail];
  rows.push(r);
  console.log(`  ${r[0]!.padStart(6)}  ${r[1]!.padEnd(16)} ${r[2]!.padEnd(5)} ${r[3]}`);
}

function processReadies(): void {
  for (const [id, sim] of nodes) {
    const n = sim.node;
    if (!n || !n.hasReady()) continue;
    const rd = n.ready();
    sim.storage.append(rd.entries);
    if (rd.hardState) sim.storage.setHardState(rd.hardState);
    for (const m of rd.messages) inFlight.push({ at: now + 1 + random.int(15), m });
    for (const e of rd.committedEntries) {
      if (e.type === "confChange") n.applyConfChange(decodeConfChange(e.data));
      else if (e.data.length > 0) sim.applied.push(new TextDecoder().decode(e.data));
    }
    n.advance(rd);
    const st = n.status();
    if (rd.softState && st.role !== sim.lastRole) {
      if (st.role === "leader") row("elected leader", id, `term ${st.term}`);
      else if (st.role === "candidate") row("campaigns", id, `term ${st.term}`);
      else if (sim.lastRole === "leader") row("steps down", id, `term ${st.term}`);
      sim.lastRole = st.role;
    }
    if (st.role === "leader" && st.commit > sim.lastCommit) {
      row("commit", id, `index ${st.commit}${rd.committedEntries.length ? ` (${describe(rd)})` : ""}`);
    }
    sim.lastCommit = st.commit;
  }
}

function describe(rd: { committedEntries: { data: Uint8Array; type: string }[] }): string {
  const items = rd.committedEntries
    .filter((e) => e.type === "normal" && e.data.length > 0)
    .map((e) => new TextDecoder().decode(e.data));
  return items.length ? items.join(", ") : "no-op";
}

function deliver(): void {
  const due = inFlight.filter((x) => x.at <= now);
  inFlight = inFlight.filter((x) => x.at > now);
  for (const { m } of due) {
    if (cut.has(m.from) !== cut.has(m.to)) continue;
    nodes.get(m.to)?.node?.step(m);
  }
}

async function run(ms: number): Promise<void> {
  const end = now + ms;
  while (now < end) {
    now += 1;
    if (now % TICK_MS === 0) for (const sim of nodes.values()) sim.node?.tick();
    deliver();
    processReadies();
    if (realDelayMs && now % TICK_MS === 0) await new Promise((r) => setTimeout(r, realDelayMs));
  }
}

function leader(): NodeId | null {
  let best: { id: NodeId; term: number } | null = null;
  for (const [id, sim] of nodes) {
    const st = sim.node?.status();
    if (st?.role === "leader" && !cut.has(id) && (!best || st.term > best.term)) best = { id, term: st.term };
  }
  return best?.id ?? null;
}

async function write(value: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const l = leader();
    if (l) {
      try {
        nodes.get(l)!.node!.propose(new TextEncoder().encode(value));
        row("propose", l, value);
        await run(200);
        return;
      } catch (e) {
        if (!(e instanceof ProposalDroppedError)) throw e;
      }
    }
    await run(200);
  }
  throw new Error(`no leader accepted ${value}`);
}

console.log(`raftkit demo: ${ids.length} simulated nodes, pre-vote and check-quorum on, tick ${TICK_MS} ms (simulated)\n`);
console.log(`  ${"time".padStart(6)}  ${"event".padEnd(16)} ${"node".padEnd(5)} detail`);
for (const id of ids) start(id, true);
await run(3000);
for (const v of ["set x=1", "set y=2", "set x=3"]) await write(v);

const first = leader()!;
row("crash", first, "SIGKILL-like: loses everything not persisted");
nodes.get(first)!.node = null;
await run(3000);
for (const v of ["set z=4", "set y=5"]) await write(v);

const second = leader()!;
cut = new Set([second]);
row("partition", second, "the leader is cut off from the other nodes");
await run(3000);
await write("set x=6");
row("restart", first, "recovers from its storage");
start(first, false);
cut = new Set();
row("heal", "all", "partition healed");
await run(4000);
await write("set done=1");
await run(2000);

console.log("\n  node  role        term  commit  applied");
const expected = nodes.get(leader()!)!.applied;
let ok = true;
for (const [id, sim] of nodes) {
  const st = sim.node!.status();
  console.log(
    `  ${id.padEnd(5)} ${st.role.padEnd(11)} ${String(st.term).padStart(4)}  ${String(st.commit).padStart(6)}  ${String(st.applied).padStart(7)}`,
  );
  if (sim.applied.join("|") !== expected.join("|")) ok = false;
}
console.log(`\n  every node applied the same ${expected.length} writes in the same order: ${ok ? "yes" : "NO"}`);
console.log(`  ${expected.join(", ")}`);
process.exit(ok ? 0 : 1);
