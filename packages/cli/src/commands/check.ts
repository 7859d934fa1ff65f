import { readFile } from "node:fs/promises";
import path from "node:path";
import { readIdentity } from "@raftkit/sdk";
import { inspectStorage } from "@raftkit/store-fs";
import { CliError, EXIT, type ExitCode } from "../exitCodes.js";

/** The pid in a directory's LOCK file if that process still runs. */
async function runningHolder(dir: string): Promise<number | null> {
  const text = await readFile(path.join(dir, "LOCK"), "utf8").catch(() => null);
  const pid = text === null ? Number.NaN : Number.parseInt(text, 10);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM" ? pid : null;
  }
}

/** `raftkit check DATA-DIR`: verifies a stopped node's log and snapshots without changing them. */
export async function checkCommand(dir: string, o: { output: string }): Promise<ExitCode> {
  const holder = await runningHolder(dir);
  if (holder !== null)
    throw new CliError(
      EXIT.FAILED,
      `${dir} is in use by process ${holder}: stop that node first (check reads files a running node changes)`,
    );
  let report: Awaited<ReturnType<typeof inspectStorage>>;
  try {
    report = await inspectStorage(dir);
  } catch (e) {
    throw new CliError(EXIT.FAILED, `cannot read ${dir}: ${(e as Error).message}`);
  }
  const identity = await readIdentity(dir).catch((e: Error) => ({ error: e.message }));
  if (o.output === "json") {
    process.stdout.write(`${JSON.stringify({ ...report, identity }, null, 2)}\n`);
  } else {
    const s = report.snapshot;
    const lines = [
      `data directory ${dir}: ${report.ok ? (report.empty ? "empty" : "OK") : "CORRUPT"}`,
      `identity:   ${identity === null ? "none recorded" : "error" in identity ? identity.error : `node ${identity.nodeId} of cluster "${identity.clusterId}"`}`,
      `log:        entries ${report.firstIndex}..${report.lastIndex} (last term ${report.lastTerm})`,
      `hard state: term ${report.hardState.term}, vote ${report.hardState.vote ?? "none"}, commit ${report.hardState.commit}`,
      `snapshot:   ${s ? `index ${s.index}, term ${s.term}, voters ${s.membership.voters.join(",")}${s.membership.learners.length ? `, learners ${s.membership.learners.join(",")}` : ""}` : "none"}`,
      ...report.segments.map((f) => `segment:    ${f.name} (${f.bytes} bytes)`),
      ...report.snapshotFiles.map((f) => `snapshot file: ${f.name} (${f.bytes} bytes)`),
      ...report.repairs.map((r) => `on next start: ${r}`),
      ...report.problems.map((p) => `PROBLEM: ${p.file} at byte ${p.offset}: ${p.message}`),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  return report.ok ? EXIT.OK : EXIT.CORRUPT;
}
