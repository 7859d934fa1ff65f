import { ProposalDroppedError } from "../errors.js";
import type { Raft } from "./raft.js";
import type { Message } from "./types.js";

/** The follower's message handler (Raft paper §5.3, thesis §3.10, §6.4). */
export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case "propose":
      if (r.lead === null) throw new ProposalDroppedError(r.id, "no leader", `term ${r.term}`);
      if (r.cfg.disableProposalForwarding) {
        throw new ProposalDroppedError(r.id, "proposal forwarding disabled", `the leader is ${r.lead}`);
      }
      r.send({ ...m, to: r.lead });
      return;
    case "append":
      r.heardFromLeader(m.from);
      r.handleAppendEntries(m);
      return;
    case "heartbeat":
      r.heardFromLeader(m.from);
      r.handleHeartbeat(m);
      return;
    case "snapshot":
      r.heardFromLeader(m.from);
      r.handleSnapshot(m);
      return;
    case "transferLeader":
      if (r.lead === null) {
        r.logger.info(`node ${r.id}: no leader at term ${r.term}; dropping the leadership transfer`);
        return;
      }
      r.send({ ...m, to: r.lead });
      return;
    case "timeoutNow":
      r.logger.info(
        `node ${r.id}: received timeout-now from ${m.from}; campaigning at once to take over leadership`,
      );
      // Skips pre-vote and the lease check: the old leader asked for this.
      r.hup("transfer");
      return;
    case "readIndex":
      if (r.lead === null) {
        r.logger.info(`node ${r.id}: no leader at term ${r.term}; dropping the read request`);
        return;
      }
      r.forwardedRead(m.context);
      r.send({ ...m, to: r.lead });
      return;
    case "readIndexResponse":
      // Only an answer to a read this node asked for, in this term: a late answer to another
      // request (or to a previous incarnation's) must not pass for a fresh one.
      if (!r.takeForwardedRead(m.context)) {
        r.logger.debug(
          `node ${r.id}: ignored a read answer from ${m.from} for a request it has not outstanding`,
        );
        return;
      }
      r.readStates.push({ index: m.index, requestCtx: m.context ?? new Uint8Array() });
      return;
    default:
  }
}
