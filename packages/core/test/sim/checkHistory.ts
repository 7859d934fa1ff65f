import { readFileSync } from "node:fs";
import { checkLinearizable, parseHistory } from "../../src/history/index.js";

/**
 * Checks a JSON-lines history file for linearizability:
 * `tsx packages/core/test/sim/checkHistory.ts FILE`.
 * Exits 0 if linearizable, 1 if not, 2 if the file is unreadable or the check is inconclusive.
 */
function main(args: readonly string[]): number {
  const [file, ...rest] = args;
  if (file === undefined || rest.length > 0) {
    console.error("usage: checkHistory.ts FILE");
    return 2;
  }
  let ops: ReturnType<typeof parseHistory>;
  try {
    ops = parseHistory(readFileSync(file, "utf8"));
  } catch (error) {
    console.error(`${file}: ${(error as Error).message}`);
    return 2;
  }
  const result = checkLinearizable(ops);
  if (result.ok === true) {
    const keys = new Set(ops.map((op) => op.key)).size;
    console.log(`linearizable (${ops.length} operations, ${keys} keys)`);
    return 0;
  }
  console.log(result.ok === false ? result.reason : `inconclusive: ${result.reason}`);
  return result.ok === false ? 1 : 2;
}

process.exitCode = main(process.argv.slice(2));
