/** `pnpm bench <name>`: runs one benchmark and prints its figures and conditions. */
const benches: Record<string, string> = {
  core: "../packages/core/bench/core.ts",
  store: "../packages/store-fs/bench/store.ts",
  transport: "../packages/transport-http/bench/codec.ts",
  echo: "../packages/transport-http/bench/echo.ts",
  stages: "../packages/sdk/bench/stages.ts",
  "vs-etcd": "../packages/sdk/bench/vsEtcd.ts",
  "snapshot-stall": "../packages/sdk/bench/snapshotStall.ts",
  cluster: "../packages/sdk/bench/cluster.ts",
  e2e: "../packages/sdk/bench/e2e.ts",
  stop: "../packages/sdk/bench/stop.ts",
  apply: "../packages/sdk/bench/apply.ts",
  "cold-apply": "../packages/sdk/bench/coldApply.ts",
  "heavy-state": "../packages/sdk/bench/heavyState.ts",
  restart: "../packages/cli/bench/restart.ts",
  "session-reads": "../packages/sdk/bench/sessionReads.ts",
};

const name = process.argv[2];
if (!name || !(name in benches)) {
  console.error(`usage: pnpm bench <${Object.keys(benches).join("|")}>`);
  process.exit(2);
}
await import(benches[name]!);
