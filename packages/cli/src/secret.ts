import { readFileSync } from "node:fs";
import { usage } from "./exitCodes.js";

/**
 * The cluster secret: the first line of `--secret-file`, else `RAFTKIT_SECRET`. Never a plain
 * flag: a flag's value shows in `ps` and shell history.
 */
export function readSecret(file: string | undefined, required: boolean): string | undefined {
  let secret: string | undefined;
  if (file !== undefined) {
    try {
      secret = readFileSync(file, "utf8").split("\n")[0]?.trim();
    } catch (e) {
      throw usage(`cannot read --secret-file ${file}: ${(e as Error).message}`);
    }
    if (!secret) throw usage(`--secret-file ${file} is empty; put the cluster secret on its first line`);
  } else if (process.env.RAFTKIT_SECRET) {
    secret = process.env.RAFTKIT_SECRET;
  }
  if (required && !secret)
    throw usage("no secret: give --secret-file FILE (the secret on its first line) or set RAFTKIT_SECRET");
  return secret;
}
