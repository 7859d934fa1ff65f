import { createServer } from "node:net";

/** A free TCP port on 127.0.0.1 (bound, then released for the node that will use it). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
