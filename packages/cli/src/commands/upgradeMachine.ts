import { findLeader, parseEndpoints } from "../cluster.js";
import { CliError, EXIT, type ExitCode, usage } from "../exitCodes.js";
import { requestJson } from "../request.js";

/**
 * `raftkit upgrade-machine [VERSION]`: switches the cluster's machine version through the
 * leader (POST /upgrade-machine), to VERSION or, without it, to the highest version every
 * member's code supports. Refused, nothing changed, while a member does not report support.
 */
export async function upgradeMachineCommand(
  version: string | undefined,
  o: { endpoints?: string | undefined; secret: string | undefined; timeoutMs: number },
): Promise<ExitCode> {
  const target = version === undefined ? undefined : Number(version);
  if (target !== undefined && !(Number.isSafeInteger(target) && target >= 1))
    throw usage(`upgrade-machine: "${version}" is not a machine version (an integer ≥ 1)`);
  const leader = await findLeader(parseEndpoints(o.endpoints), o.secret);
  let done: { from: number; to: number };
  try {
    done = await requestJson<{ from: number; to: number }>(`${leader}/upgrade-machine`, {
      method: "POST",
      secret: o.secret,
      body: { json: target === undefined ? {} : { target } },
      timeoutMs: o.timeoutMs,
    });
  } catch (e) {
    throw new CliError(EXIT.FAILED, `upgrade-machine failed: ${(e as Error).message}`);
  }
  process.stdout.write(
    done.from === done.to
      ? `the machine is at version ${done.to} already: nothing to do (raftkit status shows what each member supports)\n`
      : `switched the machine from version ${done.from} to ${done.to}\n`,
  );
  return EXIT.OK;
}
