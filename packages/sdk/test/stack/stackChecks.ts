import type { AppliedEntry, NodeStatus } from "@raftkit/core";
import { decodeValue } from "../../src/codec.js";
import type { CommandOutcome, CommandPayload } from "../../src/commandLog.js";
import type { StackNode } from "./stackNode.js";

/** FNV-1a over bytes: a cheap fingerprint for comparing payloads and states. */
export function fingerprint(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return `${(h >>> 0).toString(16)}:${bytes.length}`;
}

/** One (session, seq) pair, as a map key. */
export function commandKey(session: string, seq: number): string {
  return `${session}#${seq}`;
}

interface AppliedRecord {
  payload: string;
  outcome: string;
  node: string;
  /** The command's (session, seq) if it ran (was not a duplicate). */
  ran: string | null;
}

/**
 * The checks that watch the cluster from outside its Raft cores, after every step of the
 * scheduler: election safety, state-machine safety (same entry, same result, same state and
 * session table at the same index), commit and apply never going back within an incarnation,
 * no stopped node posing as leader, exactly-once application of commands. The first
 * violation found is kept; the driver stops there.
 */
export class StackChecker {
  violation: string | null = null;
  readonly #leaders = new Map<number, string>();
  readonly #applied = new Map<number, AppliedRecord>();
  /** Per (node, incarnation): the commands it ran, to catch one running twice. */
  readonly #ranBy = new Map<string, Set<string>>();
  /** Log indices at which each command ran, across the whole log. */
  readonly #ranAt = new Map<string, Set<number>>();
  readonly #progress = new Map<string, { commit: number; applied: number }>();
  readonly #states = new Map<number, { hash: string; node: string; bytes: Uint8Array }>();
  readonly #sampledAt = new Map<string, number>();
  /** Entries applied, for the statistics. */
  appliedEntries = 0;

  fail(message: string): void {
    this.violation ??= message;
  }

  get ok(): boolean {
    return this.violation === null;
  }

  /** An application entry was applied on `node` (from its `raft.applied$`). */
  applied(node: StackNode, e: AppliedEntry): void {
    this.appliedEntries++;
    const inc = `${node.id}/${node.incarnations}`;
    const outcome = e.result as CommandOutcome;
    let p: CommandPayload | null = null;
    try {
      p = decodeValue<CommandPayload>(e.payload, "entry");
    } catch {
      p = null;
    }
    // A command refused because its session expired did not run.
    const refused = !outcome.result.ok && outcome.result.code === "SESSION_EXPIRED";
    const ran = p && !outcome.duplicate && !refused ? commandKey(p.session, p.seq) : null;
    const rec: AppliedRecord = {
      payload: fingerprint(e.payload),
      outcome: `${outcome.duplicate}:${safeJson(outcome.result)}`,
      node: inc,
      ran,
    };
    const first = this.#applied.get(e.index);
    if (!first) {
      this.#applied.set(e.index, rec);
      if (ran) {
        const at = this.#ranAt.get(ran) ?? new Set<number>();
        at.add(e.index);
        this.#ranAt.set(ran, at);
      }
    } else if (first.payload !== rec.payload) {
      this.fail(
        `state-machine safety: index ${e.index} applied ${first.payload} on ${first.node} but ${rec.payload} on ${inc}`,
      );
    } else if (first.outcome !== rec.outcome) {
      this.fail(
        `state-machine safety: entry ${e.index} gave ${first.outcome} on ${first.node} but ${rec.outcome} on ${inc}`,
      );
    }
    if (ran) {
      const set = this.#ranBy.get(inc) ?? new Set<string>();
      if (set.has(ran))
        this.fail(`exactly once: command ${ran} ran twice on ${inc} (again at index ${e.index})`);
      set.add(ran);
      this.#ranBy.set(inc, set);
    }
  }

  /** A running node published a new status (after each Ready): one leader per term; commit and apply never go back. */
  status(n: StackNode, s: NodeStatus): void {
    if (n.state !== "running" && n.state !== "starting") return;
    if (s.role === "leader") {
      const other = this.#leaders.get(s.term);
      if (other === undefined) this.#leaders.set(s.term, n.id);
      else if (other !== n.id) this.fail(`election safety: ${other} and ${n.id} both lead term ${s.term}`);
    }
    const key = `${n.id}/${n.incarnations}`;
    const last = this.#progress.get(key);
    if (last && s.commit < last.commit) this.fail(`commit went back on ${key}: ${last.commit} → ${s.commit}`);
    if (last && s.applied < last.applied)
      this.fail(`apply went back on ${key}: ${last.applied} → ${s.applied}`);
    this.#progress.set(key, { commit: s.commit, applied: s.applied });
  }

  /** No node stopped by a fatal error may still call itself leader. Call after every scheduler step. */
  observe(nodes: readonly StackNode[]): void {
    for (const n of nodes) {
      if (n.state !== "failed" || !n.current) continue;
      const s = n.current.raft.status();
      if (s.role === "leader") {
        this.fail(
          `stopped node: ${n.id} stopped (${n.fatalError?.message}) but still reports itself leader of term ${s.term}`,
        );
      }
    }
  }

  /** Compares the replicated state and session table of every running node with others' at the same applied index. */
  sampleStates(nodes: readonly StackNode[]): void {
    for (const n of nodes) {
      const inc = n.live;
      if (!inc) continue;
      const applied = inc.raft.status().applied;
      const key = `${n.id}/${inc.number}`;
      if (this.#sampledAt.get(key) === applied) continue;
      this.#sampledAt.set(key, applied);
      let hash: string;
      let bytes: Uint8Array;
      try {
        bytes = inc.replicated.snapshotNow();
        // Compared decoded: superjson's bytes also record which values shared a reference.
        hash = fingerprint(new TextEncoder().encode(canonical(bytes)));
      } catch (e) {
        this.fail(
          `snapshot: ${n.id}'s machine cannot be snapshotted at index ${applied}: ${(e as Error).message}`,
        );
        return;
      }
      const first = this.#states.get(applied);
      if (!first) this.#states.set(applied, { hash, node: key, bytes });
      else if (first.hash !== hash) {
        this.fail(
          `replica divergence: at applied index ${applied}, ${first.node} and ${key} differ in state or session table, ` +
            snapshotDiff(first.bytes, bytes),
        );
      }
    }
  }

  /** At the end: each acknowledged command ran at exactly one log index; no command ran at two. */
  checkExactlyOnce(acked: readonly string[]): void {
    for (const [cmd, at] of this.#ranAt) {
      if (at.size > 1) this.fail(`exactly once: command ${cmd} ran at log indices ${[...at].join(", ")}`);
    }
    for (const cmd of acked) {
      if (!this.#ranAt.has(cmd)) this.fail(`exactly once: acknowledged command ${cmd} never ran in the log`);
    }
  }
}

/** A snapshot's content as JSON (Maps as entry lists, Sets as arrays), for comparing replicas. */
function canonical(bytes: Uint8Array): string {
  return safeJson(decodeValue(bytes, "snapshot"), (_k, v: unknown) =>
    v instanceof Map ? [...v] : v instanceof Set ? [...v] : v,
  );
}

/** Where two snapshots differ: their JSON forms around the first differing character. */
function snapshotDiff(a: Uint8Array, b: Uint8Array): string {
  const x = canonical(a);
  const y = canonical(b);
  let i = 0;
  while (i < x.length && x[i] === y[i]) i++;
  const from = Math.max(0, i - 300);
  return `first difference at character ${i}:\n    …${x.slice(from, i + 300)}…\n    …${y.slice(from, i + 300)}…`;
}

function safeJson(v: unknown, replacer?: (k: string, v: unknown) => unknown): string {
  try {
    return JSON.stringify(v, replacer) ?? "undefined";
  } catch (e) {
    return `<unencodable: ${(e as Error).message}>`;
  }
}
