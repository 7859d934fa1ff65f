/**
 * The express that this package's routers are built on, as compiled into its `dist`. @internal:
 * `@raftkit/sdk`'s build takes express from here, so the SDK's routers and the transport's run
 * on one copy, loaded once. Not part of the API; import express yourself.
 */
import express from "express";

export default express;
