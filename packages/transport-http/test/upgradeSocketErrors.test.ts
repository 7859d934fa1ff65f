import type { IncomingMessage } from "node:http";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { PeerStreamServer, STREAM_PATH, STREAM_PROTOCOL } from "../src/streamServer.js";
import { CLUSTER, recordingHandler, SECRET } from "./helpers.js";

/** An upgrade request as node's server hands it over, with `headers`. */
const upgradeRequest = (headers: Record<string, string>): IncomingMessage =>
  ({ url: STREAM_PATH, headers, socket: { remoteAddress: "127.0.0.1" } }) as unknown as IncomingMessage;

/** A socket error as a reset connection raises it. */
const reset = (): Error => Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });

describe("peer stream sockets and errors", () => {
  const server = new PeerStreamServer({
    nodeId: "n1",
    clusterId: CLUSTER,
    secret: SECRET,
    maxBodyBytes: 1024,
    idleTimeoutMs: 1_000,
    handler: recordingHandler(),
  });

  it("a peer that resets the connection while it is refused does not crash the node (an upgraded socket has no error listener of node's)", () => {
    for (const [headers, running] of [
      [{ upgrade: "websocket" }, true],
      [{ upgrade: STREAM_PROTOCOL }, true],
      [{ upgrade: STREAM_PROTOCOL, authorization: `Bearer ${SECRET}` }, false],
    ] as const) {
      const socket = new PassThrough();
      server.accept(upgradeRequest(headers), socket, Buffer.alloc(0), running);
      expect(() => socket.emit("error", reset())).not.toThrow();
      expect(socket.destroyed).toBe(true);
    }
  });
});
