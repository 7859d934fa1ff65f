import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { type AnyMachine, type RaftkitNode, type StartNodeOptions, startNode } from "@raftkit/sdk";
import { CliError, EXIT, type ExitCode, usage } from "../exitCodes.js";
import { parsePeers } from "../parsePeers.js";
import { readSecret } from "../secret.js";

/** `raftkit start`'s flags; each may come from `--config node.json` instead (flags win). */
export interface StartFlags {
  config?: string | undefined;
  machine?: string | undefined;
  id?: string | undefined;
  dataDir?: string | undefined;
  peers?: string | undefined;
  listen?: string | undefined;
  secretFile?: string | undefined;
  clusterId?: string | undefined;
  join?: boolean | undefined;
  newCluster?: boolean | undefined;
  verbose?: boolean | undefined;
}

/** The `--config` file: the flags' names in camelCase; `peers` an object or the flag's string; `raft` tuning. */
interface ConfigFile {
  machine?: string;
  id?: string;
  dataDir?: string;
  peers?: string | Record<string, string>;
  listen?: string;
  secretFile?: string;
  clusterId?: string;
  join?: boolean;
  newCluster?: boolean;
  raft?: StartNodeOptions<AnyMachine>["raft"];
}

function readConfig(file: string): { config: ConfigFile; base: string } {
  try {
    return {
      config: JSON.parse(readFileSync(file, "utf8")) as ConfigFile,
      base: path.dirname(path.resolve(file)),
    };
  } catch (e) {
    throw usage(`cannot read --config ${file}: ${(e as Error).message}`);
  }
}

/** `HOST:PORT` or `PORT` (host 127.0.0.1); `[::1]:PORT` for IPv6. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !(port >= 0 && port <= 65535))
    throw usage(`--listen: "${text}" is not HOST:PORT, e.g. 0.0.0.0:7000`);
  return { host: m[1] || m[2] || "127.0.0.1", port };
}

/** Imports the machine module: its default export, or its export named `machine`. */
async function loadMachine(file: string): Promise<AnyMachine> {
  let mod: { default?: unknown; machine?: unknown };
  try {
    mod = (await import(pathToFileURL(path.resolve(file)).href)) as typeof mod;
  } catch (e) {
    throw new CliError(EXIT.FAILED, `cannot load the machine module ${file}: ${(e as Error).message}`);
  }
  const m = (mod.default ?? mod.machine) as Partial<AnyMachine> | undefined;
  if (!m || typeof m.initial !== "function" || typeof m.commands !== "object")
    throw new CliError(
      EXIT.FAILED,
      `${file} exports no machine: export the result of defineMachine(...) as default or as "machine"`,
    );
  return m as AnyMachine;
}

/**
 * Where the time from process start to serving went, in whole ms: node.js's own start (until it
 * runs the first line of the CLI), loading the CLI and the SDK, importing the machine module, and
 * startNode (opening the store, replaying its log, listening).
 */
function startupTimes(loadedAt: number, machineAt: number) {
  const now = performance.now();
  const nodejs = performance.nodeTiming.bootstrapComplete;
  return {
    total: Math.round(now),
    nodejs: Math.round(nodejs),
    code: Math.round(loadedAt - nodejs),
    machine: Math.round(machineAt - loadedAt),
    start: Math.round(now - machineAt),
  };
}

/**
 * `raftkit start`: runs one member in this process until SIGTERM or SIGINT, which stop it
 * cleanly (exit 0). Prints one line on stdout once it serves; logs go to stderr.
 */
export async function startCommand(flags: StartFlags): Promise<ExitCode> {
  // This module's imports (the SDK and everything it runs) were loaded before this line.
  const loadedAt = performance.now();
  const { config, base } = flags.config
    ? readConfig(flags.config)
    : { config: {} as ConfigFile, base: process.cwd() };
  const fromConfig = (p: string | undefined): string | undefined =>
    p === undefined ? undefined : path.resolve(base, p);
  const machineFile = flags.machine ?? fromConfig(config.machine);
  const id = flags.id ?? config.id;
  const dataDir = flags.dataDir ?? fromConfig(config.dataDir);
  const peersText = flags.peers ?? config.peers;
  const listenText = flags.listen ?? config.listen;
  if (!machineFile)
    throw usage("start: give --machine FILE (a module whose default export is a defineMachine result)");
  if (!id) throw usage("start: give --id ID (this member's id in --peers)");
  if (!dataDir) throw usage("start: give --data-dir DIR");
  if (!peersText) throw usage("start: give --peers ID=URL,… (every initial member, this one included)");
  if (!listenText) throw usage("start: give --listen HOST:PORT");
  const peers = typeof peersText === "string" ? parsePeers(peersText) : peersText;
  const secret = readSecret(flags.secretFile ?? fromConfig(config.secretFile), true)!;
  const clusterId = flags.clusterId ?? config.clusterId;
  const join = flags.join ?? config.join;
  const newCluster = flags.newCluster ?? config.newCluster;

  const machine = await loadMachine(machineFile);
  const machineAt = performance.now();
  let node: RaftkitNode<AnyMachine>;
  try {
    node = await startNode({
      machine,
      id,
      peers,
      dataDir,
      secret,
      listen: parseListen(listenText),
      // pino JSON lines on stderr, at RAFTKIT_LOG_LEVEL or info unless --verbose.
      ...(flags.verbose && { logLevel: "debug" as const }),
      ...(clusterId !== undefined && { clusterId }),
      ...(join !== undefined && { join }),
      ...(newCluster !== undefined && { newCluster }),
      ...(config.raft && { raft: config.raft }),
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new CliError(
      code === "CONFIG_INVALID" ? EXIT.USAGE : EXIT.FAILED,
      `cannot start node ${id}: ${(e as Error).message}`,
    );
  }
  const times = startupTimes(loadedAt, machineAt);
  return new Promise<ExitCode>((resolve) => {
    let stopping = false;
    const stop = (why: string, code: ExitCode): void => {
      if (stopping) return;
      stopping = true;
      node.logger.info({ event: "signal" }, `node ${id}: ${why}; stopping`);
      node.stop().then(
        () => resolve(code),
        (e: unknown) => {
          node.logger.error({ event: "stopFailed" }, `node ${id}: stop failed: ${(e as Error).message}`);
          resolve(EXIT.FAILED);
        },
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM", EXIT.OK));
    process.on("SIGINT", () => stop("SIGINT", EXIT.OK));
    node.status$.subscribe({
      next: (s) => {
        if (s.stopped && !stopping)
          stop(`stopped by itself: ${s.stoppedReason ?? "unknown reason"}`, EXIT.FAILED);
      },
    });
    // Only now that SIGTERM and SIGINT stop the node: a supervisor may signal the moment it
    // reads this line, and without a handler the signal would end the process uncleanly.
    node.logger.info(
      { event: "started", startupMs: times },
      `node ${id}: serving ${times.total} ms after its process started: node.js ${times.nodejs} ms, ` +
        `loading raftkit ${times.code} ms, the machine ${times.machine} ms, opening the store and starting ${times.start} ms`,
    );
    process.stdout.write(
      `raftkit: node ${id} ready: peers at ${node.url}, app API at ${node.apiUrl}, data in ${dataDir} ` +
        `(${times.total} ms after the process started)\n`,
    );
  });
}
