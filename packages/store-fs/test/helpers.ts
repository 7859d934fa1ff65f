import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Entry, Logger } from "@raftkit/core";
import { afterAll } from "vitest";
import { nodeVfs, type Vfs } from "../src/index.js";

/** A fresh directory under one temporary root per test file, removed after the file's tests. */
export function tempDirs(): () => string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "raftkit-store-fs-"));
  let n = 0;
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  return () => path.join(root, `d${++n}`);
}

/** A logger that keeps what it is told. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (level: string) => (m: string) => {
    lines.push(`${level} ${m}`);
  };
  return { lines, debug: push("debug"), info: push("info"), warn: push("warn"), error: push("error") };
}

/** Entries [from, from + n) of `term`, with `size`-byte payloads derived from index and term. */
export function entries(from: number, n: number, term: number, size = 16): Entry[] {
  return Array.from({ length: n }, (_, k) => {
    const index = from + k;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (index * 131 + term * 17 + i) & 0xff;
    return { index, term, type: "normal" as const, data };
  });
}

/** The segment files in `dir`, oldest first. */
export function segmentFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith(".wal"))
    .sort()
    .map((n) => path.join(dir, n));
}

/** Faults a {@link testVfs} injects on demand, and what it counted. */
export interface TestVfs extends Vfs {
  datasyncs: number;
  /** The next datasync fails with EIO. */
  failNextDatasync: boolean;
  /** The next write puts only half its bytes on disk, then fails (a crash in mid-write). */
  tearNextWrite: boolean;
  /** Renames to a path matching this fail. */
  failRenameTo: RegExp | null;
  /** While set, datasyncs wait until it resolves. */
  datasyncGate: Promise<void> | null;
}

/** The real file system, with faults injected on demand. */
export function testVfs(): TestVfs {
  const vfs: TestVfs = {
    ...nodeVfs,
    datasyncs: 0,
    failNextDatasync: false,
    tearNextWrite: false,
    failRenameTo: null,
    datasyncGate: null,
    async open(p, flags) {
      const f = await nodeVfs.open(p, flags);
      return {
        async write(data, position) {
          if (!vfs.tearNextWrite) return f.write(data, position);
          vfs.tearNextWrite = false;
          await f.write(data.subarray(0, data.byteLength >> 1), position);
          throw Object.assign(new Error("EIO: torn write"), { code: "EIO" });
        },
        async datasync() {
          vfs.datasyncs++;
          await vfs.datasyncGate;
          if (vfs.failNextDatasync) {
            vfs.failNextDatasync = false;
            throw Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" });
          }
          await f.datasync();
        },
        close: () => f.close(),
      };
    },
    async rename(from, to) {
      if (vfs.failRenameTo?.test(to))
        throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
      await nodeVfs.rename(from, to);
    },
  };
  return vfs;
}
