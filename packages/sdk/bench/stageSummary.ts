/**
 * Turns the marks stageTrace.ts wrote (one file per process) into the stages of the puts of the
 * last `lastSeconds` (run it with one put phase at C=1: marks are matched by entry index):
 * client → leader, propose → the leader's and the first-acknowledging follower's fsync, commit
 * → apply → answer → client. p50, p90 and p99 in ms.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Mark } from "./stageTrace.js";

type Marks = Map<string, number>;

function byKey(marks: Mark[]): Marks {
  const m: Marks = new Map();
  for (const [what, index, at] of marks) if (!m.has(`${what}|${index}`)) m.set(`${what}|${index}`, at);
  return m;
}

export function summarizeStages(dir: string, lastSeconds: number): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Mark[]);
  const leaderMarks = files.find((ms) => ms.some(([w]) => w.startsWith("sendAppend:")));
  const clientMarks = files.find((ms) => ms.some(([w]) => w === "clientCall"));
  if (!leaderMarks || !clientMarks) return "stage trace: no leader or client marks found";
  const leader = byKey(leaderMarks);
  const client = byKey(clientMarks);
  const followers = files.filter((f) => f !== leaderMarks && f !== clientMarks).map(byKey);
  const ids = [...new Set(leaderMarks.flatMap(([w]) => (w.startsWith("sendAppend:") ? [w.slice(11)] : [])))];
  const t = (m: Marks, what: string, i: number): number => m.get(`${what}|${i}`) ?? Number.NaN;
  const end = Math.max(...clientMarks.map(([, , at]) => at));
  const stages = new Map<string, number[]>();
  const add = (name: string, us: number): void => {
    if (Number.isFinite(us)) (stages.get(name) ?? stages.set(name, []).get(name)!).push(us / 1000);
  };
  for (const [what, i, at] of clientMarks) {
    if (what !== "clientCall" || i === 0 || at < end - lastSeconds * 1e6) continue;
    const sent = Math.min(...ids.map((id) => t(leader, `sendAppend:${id}`, i)));
    const f = followers
      .map((m) => ({
        receive: t(m, "receiveAppend", i),
        start: t(m, "saveStart", i),
        done: t(m, "saveDone", i),
        ack: t(m, "sendAck", i),
      }))
      .sort((a, b) => a.ack - b.ack)[0]!;
    const firstAck = Math.min(...ids.map((id) => t(leader, `receiveAck:${id}`, i)));
    add("client call → leader's command runner", t(leader, "serverCall", i) - at);
    add("runner → propose", t(leader, "propose", i) - t(leader, "serverCall", i));
    add("propose → leader sends the append", sent - t(leader, "propose", i));
    add("leader's write and fsync", t(leader, "saveDone", i) - t(leader, "saveStart", i));
    add("append sent → follower receives it", f.receive - sent);
    add("follower's write and fsync", f.done - f.start);
    add("follower's fsync → its ack received by the leader", firstAck - f.done);
    add(
      "committed → leader applies",
      t(leader, "applyStart", i) - Math.max(firstAck, t(leader, "saveDone", i)),
    );
    add(
      "leader applies (reducer, immer, checks)",
      t(leader, "applyReturned", i) - t(leader, "applyStart", i),
    );
    add("applied → answer leaves the leader", t(leader, "serverAnswer", i) - t(leader, "applyReturned", i));
    add("answer → client has it", t(client, "clientAnswer", i) - t(leader, "serverAnswer", i));
    add("client total", t(client, "clientAnswer", i) - at);
  }
  const q = (a: number[], p: number): string =>
    ([...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))] ?? Number.NaN).toFixed(3);
  const lines = ["| stage | p50 ms | p90 ms | p99 ms |", "|---|---:|---:|---:|"];
  for (const [name, a] of stages) lines.push(`| ${name} | ${q(a, 0.5)} | ${q(a, 0.9)} | ${q(a, 0.99)} |`);
  return lines.join("\n");
}
