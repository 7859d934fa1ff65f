import { defineProject } from "vitest/config";

/** The per-package vitest project: tests load package sources through the `@raftkit/source` condition, so no build is needed. */
export default defineProject({
  resolve: { conditions: ["@raftkit/source"] },
  ssr: { resolve: { conditions: ["@raftkit/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
  },
});
