import { defineProject } from "vitest/config";

/** The per-package vitest project: tests load package sources through the `@raftkit/source` condition, so no build is needed. */
export default defineProject({
  resolve: { conditions: ["@raftkit/source"] },
  ssr: { resolve: { conditions: ["@raftkit/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    // Nodes started with the default logger (pino at info on stderr) log only warnings in tests.
    env: { RAFTKIT_LOG_LEVEL: "warn" },
  },
});
