/**
 * `pnpm demo`: a 3-node raftkit cluster as separate processes running the counter example.
 * Shows a live table (node, role, term, commit, applied) while it adds values, SIGKILLs the
 * leader, watches the new election, keeps adding, restarts the old leader and watches it
 * catch up, then checks every node holds exactly the acknowledged total.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@raftkit/sdk";
import type { Counter } from "../examples/counter/src/machine.js";
import { NodeProcesses } from "../examples/counter/src/nodeProcesses.js";

const ids = ["n1", "n2", "n3"];
const tty = process.stdout.isTTY === true;
const dataDir = mkdtempSync(join(tmpdir(), "raftkit-demo-"));

type Row = { id: string; role: string; term: string; commit: string; applied: string };
let lastTable = "";
let tableLines = 0;

async function snapshotRows(cluster: NodeProcesses): Promise<Row[]> {
  return Promise.all(
    ids.map(async (id) => {
      const s = await cluster.status(id);
      return s
        ? { id, role: s.role, term: String(s.term), commit: String(s.commit), applied: String(s.applied) }
        : { id, role: "down", term: "-", commit: "-", applied: "-" };
    }),
  );
}

function render(rows: Row[]): string {
  const head = "  node   role          term   commit   applied";
  const body = rows.map(
    (r) =>
      `  ${r.id.padEnd(6)} ${(r.role === "leader" ? "LEADER" : r.role).padEnd(12)} ${r.term.padStart(5)} ${r.commit.padStart(8)} ${r.applied.padStart(9)}`,
  );
  return [head, ...body].join("\n");
}

/** Redraws the table in place on a terminal; elsewhere prints it when it changes. */
async function showTable(cluster: NodeProcesses): Promise<Row[]> {
  const rows = await snapshotRows(cluster);
  const table = render(rows);
  if (table === lastTable) return rows;
  lastTable = table;
  if (tty && tableLines > 0) process.stdout.write(`\x1b[${tableLines}A\x1b[J`);
  process.stdout.write(`${table}\n`);
  tableLines = tty ? table.split("\n").length : 0;
  return rows;
}

function say(line: string): void {
  tableLines = 0;
  lastTable = "";
  console.log(`\n▸ ${line}`);
}

/** Refreshes the table until `done(rows)` holds; fails after `ms`. */
async function watch(
  cluster: NodeProcesses,
  what: string,
  done: (rows: Row[]) => boolean,
  ms = 30_000,
): Promise<Row[]> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const rows = await showTable(cluster);
    if (done(rows)) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`demo: ${what} did not happen within ${ms / 1000}s`);
}

const leaderOf = (rows: Row[]): string | undefined => rows.find((r) => r.role === "leader")?.id;

let cluster: NodeProcesses | null = null;
let ok = false;
try {
  console.log("raftkit demo: a replicated counter on 3 node processes (127.0.0.1), fsync on, tick 100 ms");
  say("starting n1, n2, n3");
  cluster = await NodeProcesses.start(ids, dataDir);
  const c = cluster;
  let rows = await watch(c, "an election", (r) => leaderOf(r) !== undefined);
  const client = createClient<Counter>({ endpoints: c.apiUrls(), secret: c.secret });

  let expected = 0;
  const add = async (by: number): Promise<void> => {
    const total = await client.commands.add(by);
    expected += by;
    await showTable(c);
    if (total !== expected) throw new Error(`add(${by}) answered ${total}, expected ${expected}`);
  };

  say("adding 1..10 through a typed client");
  for (let by = 1; by <= 10; by++) await add(by);
  rows = await watch(c, "replication", (r) => r.every((x) => x.applied === r[0]!.applied));

  const old = leaderOf(rows)!;
  say(`SIGKILL the leader, ${old}`);
  const killedAt = Date.now();
  await c.kill(old);
  rows = await watch(c, "a new election", (r) => {
    const l = leaderOf(r);
    return l !== undefined && l !== old;
  });
  say(`${leaderOf(rows)} was elected ${Date.now() - killedAt} ms after the kill; adding 11..20`);
  for (let by = 11; by <= 20; by++) await add(by);

  say(`restarting ${old} from its data directory`);
  await c.startOne(old);
  rows = await watch(c, `${old} catching up`, (r) => {
    const lead = r.find((x) => x.role === "leader");
    return lead !== undefined && r.every((x) => x.applied === lead.commit);
  });

  const linearizable = await client.query.value();
  const perNode = await Promise.all(
    ids.map((id) =>
      createClient<Counter>({ endpoints: [c.apiUrl(id)], secret: c.secret }).query.value(undefined, {
        consistency: "stale",
      }),
    ),
  );
  ok = linearizable === expected && perNode.every((v) => v === expected);
  say(
    `final value ${linearizable} (linearizable read); per node ${perNode.join(", ")}; expected ${expected}: ${ok ? "exactly right" : "WRONG"}`,
  );
  console.log(
    "\n  The React page (live counter, leader and commit index, buttons to add):\n" +
      "    npx -y pnpm@9 --filter @raftkit/example-react-backend start   then open http://127.0.0.1:5180",
  );
} catch (e) {
  console.error(`\ndemo failed: ${(e as Error).message}`);
} finally {
  await cluster?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
