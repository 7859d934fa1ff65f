import { parseArgs } from "node:util";
import { CliError, EXIT, type ExitCode, usage } from "./exitCodes.js";
import { parsePeers } from "./parsePeers.js";
import { readSecret } from "./secret.js";

export const HELP = `raftkit: run and operate a raftkit cluster

  raftkit start --machine FILE --id ID --data-dir DIR --peers ID=URL,… --listen HOST:PORT
                [--secret-file FILE] [--cluster-id ID] [--join] [--new-cluster] [--config node.json] [--verbose]
  raftkit status           --endpoints URL,… [-o table|json]
  raftkit members          --endpoints URL,… [-o table|json]
  raftkit add-learner ID URL --endpoints URL,…
  raftkit promote ID       --endpoints URL,…
  raftkit remove ID        --endpoints URL,…
  raftkit replace OLD NEW URL --endpoints URL,… [--catch-up-timeout-ms MS]
                           (NEW started with --join; prints each step; waits until it caught up)
  raftkit transfer-leader ID --endpoints URL,…
  raftkit upgrade-machine [VERSION] --endpoints URL,…
  raftkit snapshot save FILE --endpoints URL,…
  raftkit snapshot restore FILE --data-dir DIR --id ID --peers ID=URL,… [--cluster-id ID]
  raftkit check DATA-DIR   [-o table|json]

The secret comes from --secret-file FILE (its first line) or RAFTKIT_SECRET, never a flag;
--endpoints may come from RAFTKIT_ENDPOINTS. Exit codes: 0 ok, 1 operation failed or a member
unhealthy, 2 usage, 3 no endpoint answered or no leader, 4 corrupt data, 5 replace stopped
part-way (run it again to resume).
`;

const OPTIONS = {
  endpoints: { type: "string" },
  "secret-file": { type: "string" },
  output: { type: "string", short: "o", default: "table" },
  "timeout-ms": { type: "string" },
  "catch-up-timeout-ms": { type: "string" },
  config: { type: "string" },
  machine: { type: "string" },
  id: { type: "string" },
  "data-dir": { type: "string" },
  peers: { type: "string" },
  listen: { type: "string" },
  "cluster-id": { type: "string" },
  join: { type: "boolean" },
  "new-cluster": { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
} as const;

/** Runs `raftkit` with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<ExitCode> {
  try {
    return await run(argv);
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`raftkit: ${e.message}\n`);
      if (e.exitCode === EXIT.USAGE)
        process.stderr.write("run raftkit --help for the commands and options\n");
      return e.exitCode;
    }
    process.stderr.write(`raftkit: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT.FAILED;
  }
}

// Each command is imported when run: `start` and `check` load the SDK and the store, the
// operator commands only HTTP, so none pays for the others' modules.
async function run(argv: string[]): Promise<ExitCode> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw usage((e as Error).message);
  }
  const { values: v, positionals } = parsed;
  const [command, ...args] = positionals;
  if (v.help || command === undefined || command === "help") {
    process.stdout.write(HELP);
    return command === undefined && !v.help ? EXIT.USAGE : EXIT.OK;
  }
  if (v.output !== "table" && v.output !== "json") throw usage(`-o: "${v.output}" is not table or json`);
  const positive = (option: string, text: string): number => {
    const n = Number(text);
    if (!(n > 0)) throw usage(`${option}: "${text}" is not a positive number`);
    return n;
  };
  const timeoutMs = v["timeout-ms"] === undefined ? 30_000 : positive("--timeout-ms", v["timeout-ms"]);
  const arity = (n: number, shape: string): void => {
    if (args.length !== n)
      throw usage(`${command}: expected ${shape}, got ${args.length ? args.join(" ") : "nothing"}`);
  };
  const client = () => ({ endpoints: v.endpoints, secret: readSecret(v["secret-file"], false), timeoutMs });

  switch (command) {
    case "start":
      arity(0, "only options");
      return (await import("./commands/start.js")).startCommand({
        config: v.config,
        machine: v.machine,
        id: v.id,
        dataDir: v["data-dir"],
        peers: v.peers,
        listen: v.listen,
        secretFile: v["secret-file"],
        clusterId: v["cluster-id"],
        join: v.join,
        newCluster: v["new-cluster"],
        verbose: v.verbose,
      });
    case "status":
      arity(0, "only options");
      return (await import("./commands/status.js")).statusCommand({ ...client(), output: v.output });
    case "members":
      arity(0, "only options");
      return (await import("./commands/members.js")).membersCommand({ ...client(), output: v.output });
    case "add-learner":
      arity(2, "ID URL");
      return (await import("./commands/members.js")).changeCommand("addLearner", args[0]!, args[1], client());
    case "replace":
      arity(3, "OLD NEW URL");
      return (await import("./commands/replace.js")).replaceCommand(args[0]!, args[1]!, args[2]!, {
        ...client(),
        ...(v["catch-up-timeout-ms"] !== undefined && {
          catchUpTimeoutMs: positive("--catch-up-timeout-ms", v["catch-up-timeout-ms"]),
        }),
      });
    case "promote":
    case "remove":
    case "transfer-leader":
      arity(1, "ID");
      return (await import("./commands/members.js")).changeCommand(
        command === "transfer-leader" ? "transfer" : command,
        args[0]!,
        undefined,
        client(),
      );
    case "upgrade-machine":
      if (args.length > 1) throw usage(`upgrade-machine: expected [VERSION], got ${args.join(" ")}`);
      return (await import("./commands/upgradeMachine.js")).upgradeMachineCommand(args[0], client());
    case "snapshot": {
      const [sub, file] = args;
      if ((sub !== "save" && sub !== "restore") || file === undefined || args.length !== 2)
        throw usage("snapshot: expected save FILE or restore FILE");
      const { snapshotRestore, snapshotSave } = await import("./commands/snapshot.js");
      if (sub === "save") return snapshotSave(file, client());
      if (!v["data-dir"] || !v.id || !v.peers)
        throw usage("snapshot restore: give --data-dir, --id and --peers");
      return snapshotRestore(file, {
        dataDir: v["data-dir"],
        id: v.id,
        peers: parsePeers(v.peers),
        clusterId: v["cluster-id"] ?? "raftkit",
      });
    }
    case "check":
      arity(1, "DATA-DIR");
      return (await import("./commands/check.js")).checkCommand(args[0]!, { output: v.output });
    default:
      throw usage(`unknown command "${command}"`);
  }
}
