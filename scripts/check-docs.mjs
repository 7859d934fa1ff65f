#!/usr/bin/env node
/**
 * Checks the Markdown of the repository (README.md, docs/, packages/* and examples/* READMEs):
 *  - a fenced block right after `<!-- include: path -->` is exactly that file (the files live in
 *    docs/examples/ and are type-checked by `pnpm typecheck`, so quoted code cannot rot);
 *  - every link stays inside the repository: no URL scheme, and a relative target must exist;
 *  - no address outside the repository appears in prose (local and example addresses only).
 * `node scripts/check-docs.mjs --fix` rewrites the included blocks from their files.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const fix = process.argv.includes("--fix");

function markdownFiles() {
  const out = [join(root, "README.md")];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".md")) out.push(p);
    }
  };
  for (const d of ["docs", "packages", "examples"]) walk(join(root, d));
  return out;
}

/** Hosts that may appear in prose: this machine, private networks, reserved example names. */
const LOCAL_HOST =
  /^(localhost|127\.0\.0\.1|0\.0\.0\.0|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|\[::1\]|[\w.-]*\.(example|internal|local|test))(:\d+)?$/;

const problems = [];
for (const file of markdownFiles()) {
  const rel = relative(root, file);
  const text = readFileSync(file, "utf8");
  const lines = text.split("\n");
  let changed = false;
  let inFence = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*(```|~~~)/.test(line)) {
      inFence = !inFence;
      continue;
    }
    const include = /^<!-- include: (\S+) -->$/.exec(line.trim());
    if (include) {
      const target = join(root, include[1]);
      const open = i + 1;
      if (!/^```\w*$/.test(lines[open] ?? "")) {
        problems.push(`${rel}:${i + 1}: an include comment must be followed by a fenced block`);
        continue;
      }
      let close = open + 1;
      while (close < lines.length && lines[close] !== "```") close++;
      if (!existsSync(target)) {
        problems.push(`${rel}:${i + 1}: included file ${include[1]} does not exist`);
        continue;
      }
      const want = readFileSync(target, "utf8").replace(/\n$/, "").split("\n");
      const have = lines.slice(open + 1, close);
      if (have.join("\n") !== want.join("\n")) {
        if (fix) {
          lines.splice(open + 1, close - open - 1, ...want);
          changed = true;
        } else {
          problems.push(
            `${rel}:${i + 2}: the block differs from ${include[1]} (run node scripts/check-docs.mjs --fix)`,
          );
        }
      }
      i = open; // the fence opener; the loop's next line is inside the block
      inFence = true;
      continue;
    }
    if (inFence) continue;
    const prose = line.replace(/`[^`]*`/g, "");
    for (const m of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1];
      if (/^[a-z][a-z0-9+.-]*:|^\/\//i.test(target)) {
        problems.push(`${rel}:${i + 1}: link to ${target} points outside the repository`);
        continue;
      }
      if (target.startsWith("#")) continue;
      const path = resolve(dirname(file), decodeURIComponent(target.split("#")[0]));
      if (relative(root, path).startsWith(".."))
        problems.push(`${rel}:${i + 1}: link to ${target} leaves the repository`);
      else if (!existsSync(path)) problems.push(`${rel}:${i + 1}: link to ${target}: no such file`);
    }
    for (const m of prose.matchAll(/\b(?:https?|wss?):\/\/([^/\s)>"'`]+)/g)) {
      if (!LOCAL_HOST.test(m[1])) problems.push(`${rel}:${i + 1}: address ${m[0]} is outside the repository`);
    }
  }
  if (changed) writeFileSync(file, lines.join("\n"));
}

if (problems.length > 0) {
  console.error(`check-docs: ${problems.length} problem(s)\n${problems.join("\n")}`);
  process.exit(1);
}
console.log("check-docs: every included example matches its file; every link stays in the repository");
