export { decodeMessages, encodedMessageSize, encodeMessages, WIRE_VERSION } from "./codec.js";
export { MalformedMessageError, TransportNotRunningError } from "./errors.js";
export {
  encodeFrame,
  FRAME_CLOSE,
  FRAME_HEADER_BYTES,
  FRAME_MESSAGES,
  FRAME_PING,
  FRAME_PONG,
  FrameDecoder,
  FrameError,
  frameHeader,
} from "./frames.js";
export type { HttpTransportOptions } from "./httpTransport.js";
export { HttpTransport } from "./httpTransport.js";
export type { TransportObserver } from "./observer.js";
export { CLUSTER_HEADER, FROM_HEADER } from "./peerAuth.js";
export type { PeerStats, TlsClientOptions } from "./peerClient.js";
export type { PeerServer, PeerServerOptions, TlsServerOptions } from "./peerServer.js";
export { startPeerServer } from "./peerServer.js";
export type { PeerErrorCode, PeerMessageHandler, PeerRouterOptions } from "./router.js";
export {
  createPeerRouter,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_SNAPSHOT_BYTES,
  MESSAGES_PATH,
  SNAPSHOT_PATH,
} from "./router.js";
export type { StreamState, StreamStats } from "./streamPeer.js";
export { STREAM_PATH, STREAM_PROTOCOL, TO_HEADER } from "./streamServer.js";
