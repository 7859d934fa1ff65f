/**
 * A raftkit node in its own process, for end-to-end tests. Configured by one JSON argument;
 * prints one JSON line `{"ready":true,...}` once it serves, then logs to stderr.
 * SIGTERM stops it cleanly; SIGKILL is what the tests use to crash it.
 */
import { startNode } from "../../src/startNode.js";
import { testMachine } from "./testMachine.js";
import { testMachineV2 } from "./testMachineV2.js";

interface Config {
  id: string;
  peers: Record<string, string>;
  dataDir: string;
  port: number;
  secret: string;
  join?: boolean;
  tickMs?: number;
  snapshotEntries?: number;
  snapshotCatchUpEntries?: number;
  /** 2: run the next release's code (testMachineV2, machine versions 1 and 2). */
  code?: 1 | 2;
}

const config = JSON.parse(process.argv[2] ?? "{}") as Config;
const log = (level: string) => (_fields: object, m: string) => process.stderr.write(`${level} ${m}\n`);
try {
  const node = await startNode({
    machine: config.code === 2 ? testMachineV2 : testMachine,
    id: config.id,
    peers: config.peers,
    dataDir: config.dataDir,
    secret: config.secret,
    listen: { port: config.port },
    ...(config.join !== undefined && { join: config.join }),
    raft: {
      tickMs: config.tickMs ?? 50,
      ...(config.snapshotEntries !== undefined && { snapshotEntries: config.snapshotEntries }),
      ...(config.snapshotCatchUpEntries !== undefined && {
        snapshotCatchUpEntries: config.snapshotCatchUpEntries,
      }),
    },
    logger: {
      debug: process.env.RAFTKIT_DEBUG ? log("debug") : () => {},
      info: log("info"),
      warn: log("warn"),
      error: log("error"),
    },
  });
  process.stdout.write(`${JSON.stringify({ ready: true, id: node.id, apiUrl: node.apiUrl })}\n`);
  process.on("SIGTERM", () => {
    void node.stop().then(() => process.exit(0));
  });
} catch (e) {
  process.stdout.write(
    `${JSON.stringify({ ready: false, error: (e as Error).message, code: (e as { code?: string }).code })}\n`,
  );
  process.exit(3);
}
