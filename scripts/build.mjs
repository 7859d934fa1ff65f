#!/usr/bin/env node
/**
 * `pnpm build` (and every package's `prepack`): builds each package's `dist`.
 *
 *   node scripts/build.mjs [core|store-fs|transport-http|sdk|cli …]   (default: every package)
 *
 * 1. `tsc -b` writes the declarations (`.d.ts` and their maps; the packages' tsconfig.json say
 *    `emitDeclarationOnly`), and declarations whose source file is gone are removed.
 * 2. esbuild writes the JavaScript: one ESM file per entry of the package's `exports` and `bin`
 *    (its `@raftkit/source` file in, its `default` file out), code shared between entries in
 *    `dist/chunks/`, source maps beside. A process that starts a node then reads a handful of
 *    files instead of ~1,800 modules (docs/performance.md, "Restarts").
 *
 * What stays an import: node's modules, the other @raftkit packages (so that a user's
 * `import "@raftkit/sdk"` and the CLI share one instance of each: `defineMachine` results and
 * error classes match), and the dependencies not listed in INLINED (superjson and immer: one ESM
 * file each, and their instance matters: superjson's bytes are compared across nodes, immer's
 * drafts are recognised by a shared symbol). The INLINED ones are CommonJS packages that Node
 * would load file by file on every start; their licenses are copied to
 * `dist/THIRD-PARTY-NOTICES.md`.
 *
 * Outputs are compared with what is on disk and only changed files are written (each by a
 * rename, so a test reading `dist` while another process builds never sees half a file); files
 * in `dist` that the build no longer produces are removed.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const PACKAGES = ["core", "store-fs", "transport-http", "sdk", "cli"];
/** CommonJS dependencies compiled into the packages that use them (Node loads rxjs's ~220 files, express's ~130). */
const INLINED = new Set(["rxjs", "express", "pino", "prom-client"]);
/**
 * express is compiled once, into @raftkit/transport-http (its `./express` entry); the SDK takes it
 * from there, so its routers and the transport's run on one express, loaded once.
 */
const SHARED = { express: "@raftkit/transport-http/express" };
/** Node's own resolution picks rxjs's CommonJS build; its ES module build lets esbuild keep only what is used. */
const rxjsEsm = {
  name: "rxjs-esm",
  setup(build) {
    build.onResolve({ filter: /^rxjs$/ }, (args) => {
      const pkg = createRequire(join(args.resolveDir, "x.js")).resolve("rxjs/package.json");
      return { path: join(dirname(pkg), "dist/esm/index.js") };
    });
  },
};
/** The bundled CommonJS code calls `require` for node's modules; an ES module has none of its own. */
const REQUIRE_BANNER =
  'import { createRequire as __raftkitCreateRequire } from "node:module";\n' +
  "const require = __raftkitCreateRequire(import.meta.url);";

const wanted = process.argv.slice(2);
for (const name of wanted)
  if (!PACKAGES.includes(name))
    throw new Error(`build: no package "${name}" (packages: ${PACKAGES.join(", ")})`);
const names = wanted.length > 0 ? wanted : PACKAGES;

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-b", ...names.map((n) => join(root, "packages", n))], {
  stdio: "inherit",
});
for (const name of names) {
  const dir = join(root, "packages", name);
  removeStaleDeclarations(dir);
  console.log(await bundle(dir));
}

/** The package's entries as esbuild wants them: `{ in: src file, out: path in dist without .js }`. */
function entries(pkg) {
  const list = [];
  for (const [key, target] of Object.entries(pkg.exports)) {
    if (key === "./package.json") continue;
    list.push({ in: target["@raftkit/source"], out: target.default });
  }
  for (const bin of Object.values(pkg.bin ?? {}))
    list.push({ in: bin.replace(/^\.\/dist\//, "./src/").replace(/\.js$/, ".ts"), out: bin });
  return list.map((e) => ({ in: e.in, out: e.out.replace(/^\.\/dist\//, "").replace(/\.js$/, "") }));
}

async function bundle(dir) {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const deps = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.devDependencies });
  const alias = pkg.name === "@raftkit/transport-http" ? {} : SHARED;
  const result = await esbuild.build({
    absWorkingDir: dir,
    entryPoints: entries(pkg),
    outdir: join(dir, "dist"),
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // Errors name themselves after their class (`new.target.name`): keep the names.
    keepNames: true,
    sourcemap: "linked",
    sourcesContent: false,
    alias,
    external: ["@raftkit/*", ...deps.filter((d) => !INLINED.has(d) && !(d in alias))],
    plugins: [rxjsEsm],
    banner: { js: REQUIRE_BANNER },
    metafile: true,
    write: false,
    logLevel: "warning",
  });
  const outputs = new Map(result.outputFiles.map((f) => [f.path, f.contents]));
  const notices = thirdPartyNotices(dir, result.metafile);
  if (notices) outputs.set(join(dir, "dist/THIRD-PARTY-NOTICES.md"), Buffer.from(notices));
  let written = 0;
  for (const [path, contents] of outputs) if (writeIfChanged(path, contents)) written++;
  const removed = removeStale(
    join(dir, "dist"),
    (p) => /\.(js|js\.map)$|THIRD-PARTY/.test(p) && !outputs.has(p),
  );
  const kb = Math.round([...outputs.values()].reduce((n, c) => n + c.byteLength, 0) / 1024);
  return `build: ${pkg.name}: ${outputs.size} files, ${kb} KB (${written} written, ${removed} removed)`;
}

/** The name, version, license and license text of every third-party package compiled in, or null. */
function thirdPartyNotices(dir, metafile) {
  const found = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m && !found.has(m[1]))
      found.set(m[1], JSON.parse(readFileSync(join(dir, m[1], "package.json"), "utf8")));
  }
  if (found.size === 0) return null;
  const sections = [...found]
    .sort(([, a], [, b]) => a.name.localeCompare(b.name))
    .map(([path, p]) => {
      const file = readdirSync(join(dir, path)).find((f) => /^licen[cs]e/i.test(f));
      const text = file ? readFileSync(join(dir, path, file), "utf8").trim() : `License: ${p.license}`;
      return `## ${p.name} ${p.version} (${p.license})\n\n\`\`\`\n${text}\n\`\`\``;
    });
  return `# Third-party code in this package's dist\n\nCompiled in by scripts/build.mjs; each package's license follows.\n\n${sections.join("\n\n")}\n`;
}

function writeIfChanged(path, contents) {
  if (existsSync(path) && Buffer.compare(readFileSync(path), contents) === 0) return false;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
  return true;
}

/** Removes the files under `dir` for which `stale(path)` holds, and directories left empty; returns how many files. */
function removeStale(dir, stale) {
  let removed = 0;
  if (!existsSync(dir)) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      removed += removeStale(p, stale);
      if (readdirSync(p).length === 0) rmSync(p, { recursive: true });
    } else if (stale(p)) {
      rmSync(p);
      removed++;
    }
  }
  return removed;
}

/** Declarations of a renamed or deleted module, so a tarball never ships them. */
function removeStaleDeclarations(dir) {
  const src = (p) => join(dir, "src", relative(join(dir, "dist"), p)).replace(/\.d\.ts(\.map)?$/, ".ts");
  removeStale(join(dir, "dist"), (p) => /\.d\.ts(\.map)?$/.test(p) && !existsSync(src(p)));
}
