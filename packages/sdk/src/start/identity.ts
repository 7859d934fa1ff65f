import { open, readFile, rename, unlink } from "node:fs/promises";
import path from "node:path";
import type { FirstStartRecord } from "./firstStart.js";
import { type DataDirIdentity, IdentityMismatchError } from "./startErrors.js";

/** The file in a data directory that records which node of which cluster it belongs to. */
export const IDENTITY_FILE = "IDENTITY";

/**
 * What a data directory's `IDENTITY` file records: whose it is and how its first start chose to
 * begin (the voters it bootstrapped, or that it joined; neither in files from before this was
 * recorded).
 */
export interface IdentityRecord extends DataDirIdentity, FirstStartRecord {}

/** The identity recorded in `dataDir`, or null if none is (a new directory, or one from before identities). */
export async function readIdentity(dataDir: string): Promise<IdentityRecord | null> {
  let text: string;
  try {
    text = await readFile(path.join(dataDir, IDENTITY_FILE), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  const v = JSON.parse(text) as Partial<IdentityRecord>;
  if (typeof v.clusterId !== "string" || typeof v.nodeId !== "string")
    throw new Error(`${path.join(dataDir, IDENTITY_FILE)} is not a raftkit identity file`);
  const initial = Array.isArray(v.initialMembers) && v.initialMembers.every((m) => typeof m === "string");
  return {
    clusterId: v.clusterId,
    nodeId: v.nodeId,
    ...(initial && { initialMembers: v.initialMembers }),
    ...(v.joined === true && { joined: true }),
  };
}

/**
 * Records `identity` in `dataDir` durably: a temporary file, fsynced, renamed into place, then
 * the directory fsynced, so after a crash the file is whole or absent.
 */
export async function writeIdentity(dataDir: string, identity: IdentityRecord): Promise<void> {
  const file = path.join(dataDir, IDENTITY_FILE);
  const tmp = `${file}.tmp`;
  await unlink(tmp).catch(() => {});
  const body = `${JSON.stringify({ ...identity, createdAt: new Date().toISOString() }, null, 2)}\n`;
  const h = await open(tmp, "wx");
  try {
    await h.writeFile(body);
    await h.sync();
  } finally {
    await h.close();
  }
  await rename(tmp, file);
  const d = await open(dataDir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * Checks that `dataDir` belongs to `identity` and returns what it records (null for a new
 * directory). Throws {@link IdentityMismatchError} if the directory belongs to another node or
 * cluster. The caller must hold the directory (its storage lock), and records the identity with
 * {@link writeIdentity} once it knows how the node starts.
 */
export async function claimDataDir(
  dataDir: string,
  identity: DataDirIdentity,
): Promise<IdentityRecord | null> {
  const recorded = await readIdentity(dataDir);
  if (recorded && (recorded.clusterId !== identity.clusterId || recorded.nodeId !== identity.nodeId))
    throw new IdentityMismatchError(dataDir, recorded, identity);
  return recorded;
}
