import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "@raftkit/core";
import { StorageLockedError } from "./errors.js";

/** Directories this process holds, by real path: a lock file naming our own pid may be a previous incarnation's. */
const held = new Set<string>();

/** The exclusive hold of a storage directory by this process. */
export interface DirLock {
  release(): Promise<void>;
}

/**
 * Takes the directory's `LOCK` file: created exclusively, holding our pid. A lock whose process
 * is gone (a crash, a SIGKILL) is taken over. Throws {@link StorageLockedError} if a live process
 * (this one included) holds it.
 *
 * NB: two processes taking over the same stale lock at the same instant could both succeed;
 * node has no flock(2). A lock is only stale after a crash, and a node is restarted once.
 */
export async function lockDir(dir: string, logger: Logger): Promise<DirLock> {
  const key = await fs.realpath(dir);
  const file = path.join(dir, "LOCK");
  if (held.has(key)) throw new StorageLockedError(dir, process.pid);
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await fs.open(file, "wx");
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      held.add(key);
      return {
        async release() {
          held.delete(key);
          await fs.rm(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 3) throw err;
    }
    const content = await fs.readFile(file, "utf8").catch(() => null);
    if (content === null) continue;
    const pid = Number.parseInt(content, 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new StorageLockedError(dir, pid);
    }
    logger.warn(
      `store-fs ${dir}: taking over the lock of process ${content.trim() || "?"}, which is no longer running`,
    );
    const again = await fs.readFile(file, "utf8").catch(() => null);
    if (again === content) await fs.rm(file, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
