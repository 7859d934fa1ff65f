import path from "node:path";
import type { Logger } from "@raftkit/core";
import { StorageLockedError } from "./errors.js";
import type { Vfs, VfsProcess } from "./vfs.js";

/**
 * Directories each process holds, by real path: a lock file naming our own id may be a previous
 * incarnation's. Keyed by process so that simulated incarnations sharing one OS process keep apart.
 */
const held = new WeakMap<VfsProcess, Set<string>>();

/** The exclusive hold of a storage directory by this process. */
export interface DirLock {
  release(): Promise<void>;
}

/**
 * Takes the directory's `LOCK` file: created exclusively, holding our process id. A lock whose
 * process is gone (a crash, a SIGKILL) is taken over. Throws {@link StorageLockedError} if a live
 * process (this one included) holds it.
 *
 * NB: two processes taking over the same stale lock at the same instant could both succeed;
 * node has no flock(2). A lock is only stale after a crash, and a node is restarted once.
 */
export async function lockDir(dir: string, vfs: Vfs, logger: Logger): Promise<DirLock> {
  const me = vfs.process;
  const key = await vfs.realpath(dir);
  const file = path.join(dir, "LOCK");
  const mine = held.get(me) ?? new Set<string>();
  held.set(me, mine);
  if (mine.has(key)) throw new StorageLockedError(dir, me.id, true);
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await vfs.open(file, "wx");
      try {
        await handle.write(Buffer.from(`${me.id}\n`), 0);
      } finally {
        await handle.close();
      }
      mine.add(key);
      return {
        async release() {
          mine.delete(key);
          await removeLockFile(vfs, file);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 3) throw err;
    }
    const content = await readLockFile(vfs, file);
    if (content === null) continue;
    const id = Number.parseInt(content, 10);
    if (Number.isInteger(id) && id > 0 && id !== me.id && me.isAlive(id)) {
      throw new StorageLockedError(dir, id, false);
    }
    logger.warn(
      `store-fs ${dir}: taking over the lock of process ${content.trim() || "?"}, which is no longer running`,
    );
    if ((await readLockFile(vfs, file)) === content) await removeLockFile(vfs, file);
  }
}

async function readLockFile(vfs: Vfs, file: string): Promise<string | null> {
  return vfs.readFile(file).then(
    (b) => b.toString("utf8"),
    () => null,
  );
}

async function removeLockFile(vfs: Vfs, file: string): Promise<void> {
  await vfs.unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
}
