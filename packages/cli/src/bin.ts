#!/usr/bin/env node
import { main } from "./main.js";

const argv = process.argv.slice(2);
const code = await main(argv);
process.exitCode = code;
// A stopped node may leave idle keep-alive sockets behind; its process ends once stdout is flushed.
if (argv[0] === "start") process.stdout.write("", () => process.exit(code));
