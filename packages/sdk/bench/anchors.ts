import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The directory of the shared anchor scripts (`shared/anchors`: the load harness and the etcd
 * anchor), which live beside the repository, not in it: `$RAFTKIT_ANCHORS` when set, else the
 * first `shared/anchors` found in a directory above this one. Null when there is none: only the
 * comparison benchmarks need it.
 */
export function findAnchors(): string | null {
  const fromEnv = process.env.RAFTKIT_ANCHORS;
  if (fromEnv) return existsSync(join(fromEnv, "loadgen.mjs")) ? fromEnv : null;
  for (let dir = here; ; dir = dirname(dir)) {
    const candidate = join(dir, "shared", "anchors");
    if (existsSync(join(candidate, "loadgen.mjs"))) return candidate;
    if (dirname(dir) === dir) return null;
  }
}
