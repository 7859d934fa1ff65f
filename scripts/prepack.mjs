#!/usr/bin/env node
/**
 * A package's `prepack`: builds it (`tsc -b`, incremental, with its references) and removes
 * from `dist` whatever no longer has a source file (a renamed or deleted module), so a tarball
 * never ships stale code. Runs in the package's directory.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-b"], { stdio: "inherit" });

const removed = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      walk(p);
      if (readdirSync(p).length === 0) rmSync(p, { recursive: true });
      continue;
    }
    const source = join("src", relative("dist", p)).replace(/\.(js|d\.ts)(\.map)?$/, ".ts");
    if (!existsSync(source)) {
      rmSync(p);
      removed.push(p);
    }
  }
};
if (existsSync("dist")) walk("dist");
if (removed.length > 0) console.log(`prepack: removed ${removed.length} stale file(s) from dist`);
