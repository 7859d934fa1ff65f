#!/usr/bin/env node
/**
 * A package's `prepack`: builds it with scripts/build.mjs (declarations with `tsc -b`, with its
 * references; JavaScript with esbuild), which also removes from `dist` whatever the build no
 * longer produces, so a tarball never ships stale code. Runs in the package's directory.
 */
import { execFileSync } from "node:child_process";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const build = join(dirname(fileURLToPath(import.meta.url)), "build.mjs");
execFileSync(process.execPath, [build, basename(process.cwd())], { stdio: "inherit" });
