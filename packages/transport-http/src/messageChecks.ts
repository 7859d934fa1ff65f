import { isLocalMessage, type Message, type NodeId } from "@raftkit/core";

/** Why a decoded batch must not reach Raft. @internal */
export interface MessageProblem {
  code: "WRONG_RECIPIENT" | "MALFORMED_MESSAGE";
  message: string;
}

/**
 * The first reason the messages from `sender` (a description for error messages) must not
 * reach node `nodeId`: one addressed to another node, a local message type, an empty `from`.
 * Null when every message may be delivered.
 *
 * @internal
 */
export function messageProblem(
  messages: readonly Message[],
  nodeId: NodeId,
  sender: string,
): MessageProblem | null {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.to !== nodeId) {
      return {
        code: "WRONG_RECIPIENT",
        message: `messages[${i}] (${m.type} from ${m.from}) is addressed to node "${m.to}" but reached node "${nodeId}"; fix the address of "${m.to}" in the peers of ${sender}`,
      };
    }
    if (isLocalMessage(m.type)) {
      return {
        code: "MALFORMED_MESSAGE",
        message: `messages[${i}] is a local "${m.type}" message, which never crosses the network`,
      };
    }
    if (m.from === "") return { code: "MALFORMED_MESSAGE", message: `messages[${i}] has an empty "from"` };
  }
  return null;
}
