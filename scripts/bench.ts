/** `pnpm bench <name>`: runs one benchmark and prints its figures and conditions. */
const benches: Record<string, string> = {
  core: "../packages/core/bench/core.ts",
  store: "../packages/store-fs/bench/store.ts",
  transport: "../packages/transport-http/bench/codec.ts",
  cluster: "../packages/sdk/bench/cluster.ts",
  e2e: "../packages/sdk/bench/e2e.ts",
  stop: "../packages/sdk/bench/stop.ts",
  apply: "../packages/sdk/bench/apply.ts",
  "heavy-state": "../packages/sdk/bench/heavyState.ts",
  "session-reads": "../packages/sdk/bench/sessionReads.ts",
};

const name = process.argv[2];
if (!name || !(name in benches)) {
  console.error(`usage: pnpm bench <${Object.keys(benches).join("|")}>`);
  process.exit(2);
}
await import(benches[name]!);
