/** `pnpm start`: builds the page, starts the backend with its 3-node cluster, and serves http://127.0.0.1:5180. */
import { startBackend } from "./server.js";

const backend = await startBackend({ port: Number(process.env.PORT ?? 5180) });
console.log(`raftkit react example: open ${backend.url} (Ctrl-C to stop); data in ${backend.dataDir}`);
let closing = false;
const shutdown = (signal: string): void => {
  if (closing) return;
  closing = true;
  console.log(`raftkit react example: ${signal}, stopping the nodes and removing ${backend.dataDir}`);
  backend.close().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
};
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));
