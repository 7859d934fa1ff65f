import { InvalidOptionsError } from "./startErrors.js";

/** The options {@link validateStartOptions} checks (a subset of StartNodeOptions). */
export interface CheckedOptions {
  machine?: unknown;
  id?: unknown;
  peers?: unknown;
  dataDir?: unknown;
  secret?: unknown;
  listen?: { port?: unknown; host?: unknown } | undefined;
  app?: unknown;
  clusterId?: unknown;
  apiPath?: unknown;
  apiSecret?: unknown;
}

/**
 * Checks every option of `startNode` that can be checked before anything starts; throws
 * {@link InvalidOptionsError} naming the first one that cannot work and what to give instead.
 */
export function validateStartOptions(o: CheckedOptions): void {
  const bad = (option: string, problem: string): never => {
    throw new InvalidOptionsError(option, problem);
  };
  const m = o.machine as { commands?: unknown; initial?: unknown } | undefined;
  if (!m || typeof m.initial !== "function" || typeof m.commands !== "object")
    bad("machine", "give the result of defineMachine({ initial, commands, queries })");
  if (typeof o.id !== "string" || o.id.trim() === "") bad("id", "give this node's id, a non-empty string");
  const id = o.id as string;
  if (typeof o.secret !== "string" || o.secret === "")
    bad("secret", "give the cluster's shared secret, a non-empty string (the same on every member)");
  if (typeof o.dataDir !== "string" || o.dataDir === "")
    bad("dataDir", "give the directory where this node keeps its log and snapshots");
  if (o.clusterId !== undefined && (typeof o.clusterId !== "string" || o.clusterId === ""))
    bad("clusterId", "give a non-empty string, the same on every member (or leave it out)");
  if (o.apiPath !== undefined && (typeof o.apiPath !== "string" || !o.apiPath.startsWith("/")))
    bad("apiPath", `give a path starting with "/", e.g. "/raftkit"`);
  if (
    o.apiSecret !== undefined &&
    o.apiSecret !== null &&
    (typeof o.apiSecret !== "string" || o.apiSecret === "")
  )
    bad("apiSecret", "give a non-empty string, or null to serve the app API without one");
  if (!o.listen && !o.app) bad("listen", "give `listen: { port }`, or an express `app` to mount on");
  if (o.listen) {
    const port = o.listen.port;
    if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535)
      bad("listen.port", `${String(port)} is not a TCP port (an integer from 0 to 65535)`);
    if (o.listen.host !== undefined && (typeof o.listen.host !== "string" || o.listen.host === ""))
      bad("listen.host", "give a host name or address to listen on, e.g. 0.0.0.0");
  }
  if (!o.peers || typeof o.peers !== "object")
    bad("peers", `give every initial member's base URL, e.g. { ${id}: "http://10.0.0.1:7000", … }`);
  const peers = o.peers as Record<string, unknown>;
  if (!Object.hasOwn(peers, id))
    bad(
      `peers.${id}`,
      `peers must include this node's own URL under "${id}" (it has ${Object.keys(peers).join(", ") || "none"})`,
    );
  const seen = new Map<string, string>();
  for (const [peer, url] of Object.entries(peers)) {
    if (peer === "") bad("peers", "a member's id is empty");
    const where = `peers.${peer}`;
    if (typeof url !== "string")
      throw new InvalidOptionsError(where, "give the member's base URL as a string");
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new InvalidOptionsError(where, `"${url}" is not a URL; give e.g. "http://10.0.0.1:7000"`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:")
      bad(where, `"${url}" must start with http:// or https://`);
    if (u.search || u.hash || u.username || u.password)
      bad(where, `"${url}" must be a base URL, without query, fragment or credentials`);
    const key = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
    const other = seen.get(key);
    if (other !== undefined)
      bad(where, `${peer} and ${other} have the same address ${url}; each member needs its own`);
    seen.set(key, peer);
  }
}
