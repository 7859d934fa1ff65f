import type { Entry } from "@raftkit/core";
import { encodeValue } from "../src/codec.js";
import type { CommandPayload } from "../src/commandLog.js";

/**
 * Makes log entries of commands at indexes 1, 2, 3…, each from a session of its own (so no
 * command is a retry of another), at term 1, for a ReplicatedMachine's `applyNow`.
 */
export function commandEntries(): (name: string, arg?: unknown) => Entry {
  let index = 0;
  return (name, arg) => {
    index++;
    const payload: CommandPayload = { name, arg, session: `s${index}`, seq: 1, lowest: 1, at: 1_000 + index };
    return { index, term: 1, type: "normal", data: encodeValue(payload, "a test command") };
  };
}
