/**
 * The process the crash test kills. It loads, says "loaded", waits for `go <dir> <seed> <firstId>`
 * on stdin, opens the storage and runs the workload with a few operations in flight, printing
 * `B <spec>` before submitting an operation and `A <id>` once it is durable. Lines are written
 * synchronously, so a line on the pipe is never behind what it reports.
 */
import fs from "node:fs";
import { openFileStorage } from "../../src/index.js";
import { type Spec, toBatch, Workload } from "./workload.js";

const say = (line: string): void => {
  fs.writeSync(1, `${line}\n`);
};

const go = await new Promise<string>((resolve) => {
  let buf = "";
  process.stdin.on("data", (d: Buffer) => {
    buf += d.toString();
    const nl = buf.indexOf("\n");
    if (nl >= 0) resolve(buf.slice(0, nl));
  });
  say("loaded");
});
const [, dir, seed, firstId] = go.split(" ");
const storage = await openFileStorage(dir!, { segmentBytes: 16 * 1024, cacheBytes: 8 * 1024 });
const workload = new Workload(Number(seed), storage, Number(firstId));
say("ready");

let inflight = 0;
const maxInflight = 1 + (Number(seed) % 4);
const pump = (): void => {
  while (inflight < maxInflight) {
    const spec: Spec = workload.next();
    say(`B ${JSON.stringify(spec)}`);
    inflight++;
    const p = spec.kind === "compact" ? storage.compact(spec.index) : storage.save(toBatch(spec));
    Promise.resolve(p).then(
      () => {
        say(`A ${spec.id}`);
        inflight--;
        pump();
      },
      (err: unknown) => {
        say(`E ${err instanceof Error ? err.stack : String(err)}`);
        process.exit(1);
      },
    );
  }
};
pump();
