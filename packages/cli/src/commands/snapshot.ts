import { createHash } from "node:crypto";
import { open, readdir, readFile, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { decodeRuntimeSnapshot, encodeRuntimeSnapshot, type Snapshot } from "@raftkit/core";
import { writeIdentity } from "@raftkit/sdk";
import { decodeSnapshot, openFileStorage } from "@raftkit/store-fs";
import { parseEndpoints } from "../cluster.js";
import { CliError, EXIT, type ExitCode, usage } from "../exitCodes.js";
import { download } from "../request.js";

/** Reads and checks a backup file; throws CORRUPT if it is not a sound raftkit snapshot. */
export async function readBackup(
  file: string,
): Promise<{ snapshot: Snapshot; sha256: string; bytes: number }> {
  let b: Buffer;
  try {
    b = await readFile(file);
  } catch (e) {
    throw new CliError(EXIT.FAILED, `cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    const snapshot = decodeSnapshot(b);
    decodeRuntimeSnapshot(snapshot.data);
    return { snapshot, sha256: createHash("sha256").update(b).digest("hex"), bytes: b.byteLength };
  } catch (e) {
    throw new CliError(
      EXIT.CORRUPT,
      `${file} is not a sound raftkit snapshot (${(e as Error).message}); take a new one with raftkit snapshot save`,
    );
  }
}

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * `raftkit snapshot save FILE`: a consistent snapshot from the first endpoint that gives one,
 * streamed to `FILE.part`, checked (SHA-256 of the transfer, the file's CRC), fsynced, renamed
 * to FILE, the directory fsynced.
 */
export async function snapshotSave(
  file: string,
  o: { endpoints?: string | undefined; secret: string | undefined; timeoutMs: number },
): Promise<ExitCode> {
  const endpoints = parseEndpoints(o.endpoints);
  const target = path.resolve(file);
  const part = `${target}.part`;
  const errors: string[] = [];
  for (const endpoint of endpoints) {
    await unlink(part).catch(() => {});
    try {
      const headers = await download(`${endpoint}/snapshot`, part, {
        secret: o.secret,
        timeoutMs: o.timeoutMs,
      });
      const { snapshot, sha256, bytes } = await readBackup(part);
      if (headers["x-raftkit-sha256"] && headers["x-raftkit-sha256"] !== sha256)
        throw new Error(
          `the transfer was damaged (SHA-256 ${sha256}, the member sent ${String(headers["x-raftkit-sha256"])})`,
        );
      const h = await open(part, "r");
      try {
        await h.sync();
      } finally {
        await h.close();
      }
      await rename(part, target);
      await syncDir(path.dirname(target));
      const m = snapshot.meta;
      process.stdout.write(
        `saved ${target}: index ${m.index}, term ${m.term}, voters ${m.confState.voters.join(",")}${m.confState.learners.length ? `, learners ${m.confState.learners.join(",")}` : ""}, ${bytes} bytes, sha256 ${sha256} (from ${endpoint})\n`,
      );
      return EXIT.OK;
    } catch (e) {
      await unlink(part).catch(() => {});
      errors.push((e as Error).message);
    }
  }
  throw new CliError(EXIT.FAILED, `no endpoint gave a snapshot: ${errors.join("; ")}`);
}

/**
 * `raftkit snapshot restore FILE`: writes a new data directory whose storage holds the backup
 * as its base, with the new cluster's membership (every id of `peers` a voter) and addresses,
 * and records the directory's identity. Every member of the new cluster restores the same file.
 */
export async function snapshotRestore(
  file: string,
  o: { dataDir: string; id: string; peers: Record<string, string>; clusterId: string },
): Promise<ExitCode> {
  if (!Object.hasOwn(o.peers, o.id)) throw usage(`--peers must include --id ${o.id}`);
  const existing = await readdir(o.dataDir).catch(() => [] as string[]);
  if (existing.length > 0)
    throw new CliError(
      EXIT.FAILED,
      `${o.dataDir} is not empty: restore into a new directory (a restore never overwrites a node's data)`,
    );
  const { snapshot, sha256 } = await readBackup(file);
  const runtime = decodeRuntimeSnapshot(snapshot.data);
  const voters = Object.keys(o.peers).sort();
  const meta = {
    index: snapshot.meta.index,
    term: snapshot.meta.term,
    confState: { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
  };
  const storage = await openFileStorage(o.dataDir);
  try {
    await storage.save({
      snapshot: { meta, data: encodeRuntimeSnapshot({ addresses: o.peers, app: runtime.app }) },
      hardState: { term: meta.term, vote: null, commit: meta.index },
    });
  } finally {
    await storage.close();
  }
  await writeIdentity(o.dataDir, { clusterId: o.clusterId, nodeId: o.id });
  process.stdout.write(
    `restored ${file} (sha256 ${sha256}) into ${o.dataDir} for node ${o.id} of cluster "${o.clusterId}": index ${meta.index}, term ${meta.term}, voters ${voters.join(",")}\n` +
      `start every member of the new cluster from the same file, then: raftkit start --id ${o.id} --data-dir ${o.dataDir} --peers … (no --join)\n`,
  );
  return EXIT.OK;
}
