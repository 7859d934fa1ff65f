/**
 * `pnpm sim`: the core simulation (packages/core/test/sim/cli.ts), or with `--stack` the
 * whole-stack simulation (packages/sdk/test/stack/cli.ts). Flags go to the chosen one as given.
 */
if (process.argv.includes("--stack")) {
  await import("../packages/sdk/test/stack/cli.js");
} else {
  await import("../packages/core/test/sim/cli.js");
}
