/** The outcome of a vote so far: decided either way, or still open. */
export type VoteResult = "pending" | "lost" | "won";
