import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openFileStorage, StorageLockedError } from "../src/index.js";
import { entries, recordingLogger, tempDirs } from "./helpers.js";

const newDir = tempDirs();

/** Runs `node -e <code>`; resolves with the process once it has printed its first line. */
function node(code: string): Promise<ReturnType<typeof spawn>> {
  const p = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve) => p.stdout!.once("data", () => resolve(p)));
}

describe("the directory lock", () => {
  it("refuses a second open while the first is open, naming the directory and the holder", async () => {
    const dir = newDir();
    const s = await openFileStorage(dir);
    const err = await openFileStorage(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageLockedError);
    expect((err as StorageLockedError).code).toBe("STORAGE_LOCKED");
    expect((err as StorageLockedError).pid).toBe(process.pid);
    expect((err as StorageLockedError).message).toContain(dir);
    expect((err as StorageLockedError).message).toContain(`pid ${process.pid}`);
    await s.close();
  });

  it("is released by close, so the directory opens again", async () => {
    const dir = newDir();
    let s = await openFileStorage(dir);
    await s.save({ entries: entries(1, 2, 1) });
    await s.close();
    expect(fs.existsSync(path.join(dir, "LOCK"))).toBe(false);
    s = await openFileStorage(dir);
    expect(s.lastIndex()).toBe(2);
    await s.close();
  });

  it("refuses a lock held by another live process", async () => {
    const dir = newDir();
    fs.mkdirSync(dir);
    const holder = await node("console.log('up'); setInterval(() => {}, 1000)");
    try {
      fs.writeFileSync(path.join(dir, "LOCK"), `${holder.pid}\n`);
      const err = await openFileStorage(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageLockedError);
      expect((err as StorageLockedError).pid).toBe(holder.pid);
      expect((err as StorageLockedError).message).toContain(`process ${holder.pid}`);
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("takes over a stale lock left by a dead process, and says so", async () => {
    const dir = newDir();
    fs.mkdirSync(dir);
    const dead = await node("console.log('up')");
    await new Promise((resolve) => dead.once("exit", resolve));
    fs.writeFileSync(path.join(dir, "LOCK"), `${dead.pid}\n`);
    const logger = recordingLogger();
    const s = await openFileStorage(dir, { logger });
    expect(logger.lines).toContainEqual(
      expect.stringContaining(`taking over the lock of process ${dead.pid}`),
    );
    expect(fs.readFileSync(path.join(dir, "LOCK"), "utf8")).toBe(`${process.pid}\n`);
    await s.close();
  });

  it("takes over a lock naming this process's pid that this process does not hold (a previous run with the same pid)", async () => {
    const dir = newDir();
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "LOCK"), `${process.pid}\n`);
    const s = await openFileStorage(dir);
    await expect(openFileStorage(dir)).rejects.toBeInstanceOf(StorageLockedError);
    await s.close();
  });
});
