/** `pnpm start`: builds the page, starts the backend with its 3-node cluster, and serves http://127.0.0.1:5180. */
import { startBackend } from "./server.js";

const backend = await startBackend({ port: Number(process.env.PORT ?? 5180) });
console.log(`raftkit react example: open ${backend.url} (Ctrl-C to stop)`);
process.on("SIGINT", () => {
  void backend.close().then(() => process.exit(0));
});
