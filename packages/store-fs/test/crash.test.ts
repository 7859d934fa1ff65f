import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { MemoryStorage } from "@raftkit/core";
import { afterAll, expect, it } from "vitest";
import { openFileStorage } from "../src/index.js";
import { apply, key, view } from "./crash/check.js";
import { rng, type Spec } from "./crash/workload.js";
import { recordingLogger, tempDirs } from "./helpers.js";

const ITERATIONS = 30;
/** Children loaded ahead, waiting for their `go`: loading TypeScript through tsx costs more than a run. */
const WARM = 3;
const CHILD = fileURLToPath(new URL("./crash/child.ts", import.meta.url));
const TSX = createRequire(import.meta.url).resolve("tsx");
const newDir = tempDirs();
/** Children still running; whatever the test's outcome, none outlives the file. */
const live = new Set<ChildProcessWithoutNullStreams>();
afterAll(() => {
  for (const p of live) p.kill("SIGKILL");
});

/** A child process, loaded and waiting for its `go` line. */
interface Child {
  proc: ChildProcessWithoutNullStreams;
  lines: string[];
  /** Resolves when a line satisfies the predicate, or rejects if the child exits first. */
  waitFor(pred: (line: string, all: string[]) => boolean): Promise<void>;
  exited: Promise<void>;
}

function spawnChild(): Child {
  const proc = spawn(process.execPath, ["--conditions=@raftkit/source", "--import", TSX, CHILD], {
    stdio: "pipe",
  });
  live.add(proc);
  const lines: string[] = [];
  let partial = "";
  let err = "";
  let waiter: {
    pred: (l: string, all: string[]) => boolean;
    resolve: () => void;
    reject: (e: Error) => void;
  } | null = null;
  let exited = false;
  proc.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  proc.stdout.on("data", (d: Buffer) => {
    partial += d.toString();
    let nl = partial.indexOf("\n");
    while (nl >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      lines.push(line);
      if (waiter?.pred(line, lines)) {
        const w = waiter;
        waiter = null;
        w.resolve();
      }
      nl = partial.indexOf("\n");
    }
  });
  const exitedP = new Promise<void>((resolve) =>
    proc.on("exit", () => {
      live.delete(proc);
      exited = true;
      waiter?.reject(new Error(`child exited early:\n${err}\n${lines.slice(-5).join("\n")}`));
      resolve();
    }),
  );
  return {
    proc,
    lines,
    exited: exitedP,
    waitFor(pred) {
      return new Promise((resolve, reject) => {
        if (lines.some((l) => pred(l, lines))) return resolve();
        if (exited) return reject(new Error(`child exited:\n${err}`));
        waiter = { pred, resolve, reject };
      });
    },
  };
}

it("keeps every acknowledged batch, and nothing else, across SIGKILLs at random moments", async () => {
  const dir = newDir();
  const seed = Date.now() % 1_000_000;
  const rand = rng(seed);
  /** Operations known durable, in order: the reference state is MemoryStorage after all of them. */
  const history: Spec[] = [];
  let nextId = 1;
  const warm = Array.from({ length: WARM }, spawnChild);
  let kills = 0;
  for (let iter = 0; iter < ITERATIONS; iter++) {
    const child = warm.shift()!;
    if (iter + WARM < ITERATIONS) warm.push(spawnChild());
    await child.waitFor((l) => l === "loaded");
    child.proc.stdin.write(`go ${dir} ${seed + iter} ${nextId}\n`);
    const acksWanted = rand(4) === 0 ? 0 : 1 + rand(60);
    await child.waitFor(
      (_, all) => all.filter((l) => l.startsWith("A ")).length >= acksWanted && all.includes("ready"),
    );
    child.proc.kill("SIGKILL");
    await child.exited;
    kills++;

    const issued = child.lines.filter((l) => l.startsWith("B ")).map((l) => JSON.parse(l.slice(2)) as Spec);
    const acked = new Set(child.lines.filter((l) => l.startsWith("A ")).map((l) => Number(l.slice(2))));
    // Acknowledgements come in issue order, so the acknowledged ops are a prefix of the issued ones.
    const durable = issued.findIndex((s) => !acked.has(s.id));
    const mustHave = durable === -1 ? issued.length : durable;
    expect(acked.size, `seed ${seed} iteration ${iter}`).toBe(mustHave);

    const logger = recordingLogger();
    const recovered = await openFileStorage(dir, { logger });
    const got = view(recovered);
    const gotKey = key(recovered);
    await recovered.close();
    // The recovered state must be the reference after the acknowledged ops plus some of the
    // following ones, in order: never a state that skips an op, and never garbage.
    const ref = new MemoryStorage();
    for (const s of history) apply(ref, s);
    let matched = -1;
    for (let m = 0; m <= issued.length; m++) {
      if (m > 0) apply(ref, issued[m - 1]!);
      if (m >= mustHave && key(ref) === gotKey && view(ref) === got) {
        matched = m;
        break;
      }
    }
    if (matched < 0) {
      const refAcked = new MemoryStorage();
      for (const s of [...history, ...issued.slice(0, mustHave)]) apply(refAcked, s);
      expect(
        got,
        `seed ${seed} iteration ${iter}: recovered state matches no prefix\n${logger.lines.join("\n")}`,
      ).toEqual(view(refAcked));
    }
    history.push(...issued.slice(0, matched));
    nextId = (issued[issued.length - 1]?.id ?? nextId - 1) + 1;
  }
  expect(kills).toBe(ITERATIONS);
  expect(history.length).toBeGreaterThan(ITERATIONS);
}, 90_000);
