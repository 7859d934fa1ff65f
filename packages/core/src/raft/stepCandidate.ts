import { ProposalDroppedError } from "../errors.js";
import type { Raft } from "./raft.js";
import type { Message } from "./types.js";

/** The handler of candidates and pre-candidates (Raft paper §5.2, thesis §9.6). */
export function stepCandidate(r: Raft, m: Message): void {
  const myVoteResponse = r.role === "preCandidate" ? "preVoteResponse" : "voteResponse";
  switch (m.type) {
    case "propose":
      throw new ProposalDroppedError(r.id, "no leader", `node is a ${r.role} at term ${r.term}`);
    case "append":
      // A leader of this term exists: give up the candidacy (§5.2).
      r.becomeFollower(m.term, m.from);
      r.handleAppendEntries(m);
      return;
    case "heartbeat":
      r.becomeFollower(m.term, m.from);
      r.handleHeartbeat(m);
      return;
    case "snapshot":
      r.becomeFollower(m.term, m.from);
      r.handleSnapshot(m);
      return;
    case "voteResponse":
    case "preVoteResponse": {
      if (m.type !== myVoteResponse) return;
      const result = r.poll(m.from, m.type, !m.reject);
      if (result === "won") {
        if (r.role === "preCandidate") r.campaign("election");
        else {
          r.becomeLeader();
          r.bcastAppend();
        }
      } else if (result === "lost") {
        // A pre-candidate that lost stays at its term; a candidate also just waits for a leader.
        r.becomeFollower(r.term, null);
      }
      return;
    }
    case "timeoutNow":
      r.logger.debug(`node ${r.id}: ignored timeout-now from ${m.from} as ${r.role}`);
      return;
    default:
  }
}
