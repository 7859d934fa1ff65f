#!/usr/bin/env node
import module from "node:module";

// V8's code cache on disk (Node 22.1+; absent on Node 20): later starts skip compiling the
// modules. Enabled before anything else is imported, so it covers them all.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { main } = await import("./main.js");

const argv = process.argv.slice(2);
const code = await main(argv);
process.exitCode = code;
// A stopped node may leave idle keep-alive sockets behind; its process ends once stdout is flushed.
if (argv[0] === "start") process.stdout.write("", () => process.exit(code));
