import { describe, expect, it } from "vitest";
import { CONF_KINDS } from "./membership.js";
import { QUIET_LINKS } from "./network.js";
import { confKindStat, type SimOptions, type SimResult, type SimStats, simulate } from "./simulate.js";

/** How many seeds the main test runs (SIM_SEEDS), starting at SIM_FROM. */
const SEEDS = Number(process.env.SIM_SEEDS ?? 500);
const FROM = Number(process.env.SIM_FROM ?? 1);
/** Simulated ms of faults and load per seed (the CLI's default too, so its replay commands match). */
const DURATION = Number(process.env.SIM_DURATION ?? 3000);

type Failure = Extract<SimResult, { ok: false }>;

function describeFailures(failures: Failure[]): string {
  return failures
    .map(
      (f) =>
        `seed ${f.seed}: ${f.violation.split("\n")[0]}\n` +
        `  replay: pnpm sim --seed ${f.seed} --verbose${DURATION === 3000 ? "" : ` --duration ${DURATION}`}\n` +
        f.trace
          .slice(-12)
          .map((l) => `    ${l}`)
          .join("\n"),
    )
    .join("\n");
}

/** The first seed in [from, from + count) whose run fails, or undefined. */
function firstFailure(from: number, count: number, options: SimOptions): Failure | undefined {
  for (let seed = from; seed < from + count; seed++) {
    const r = simulate(seed, options);
    if (!r.ok) return r;
  }
  return undefined;
}

/** The first seed in [from, from + count) whose run fails with a violation matching `re`, or undefined. */
function firstFailureMatching(
  from: number,
  count: number,
  options: SimOptions,
  re: RegExp,
): Failure | undefined {
  for (let seed = from; seed < from + count; seed++) {
    const r = simulate(seed, options);
    if (!r.ok && re.test(r.violation)) return r;
  }
  return undefined;
}

/** Membership changes every ~80 ms (a broken conf change shows up quickly). */
const CHURN: SimOptions = { duration: 2000, overrides: { confChangeEvery: 80 } };

/**
 * Seeds beyond the main run's range that once found bugs, each fixed since: a candidate that
 * learnt from a refused vote that its own removal committed, and won with the votes of the
 * configuration it had applied (524).
 */
const REGRESSION_SEEDS = [524];

describe("cluster simulation", () => {
  it("passes the seeds that once found bugs", () => {
    const failures = REGRESSION_SEEDS.map((seed) => simulate(seed, { duration: DURATION })).filter(
      (r): r is Failure => !r.ok,
    );
    if (failures.length > 0) expect.fail(describeFailures(failures));
  });

  it(`keeps every invariant, stays live and linearizable for ${SEEDS} seeds from ${FROM}`, () => {
    const failures: Failure[] = [];
    const total: Partial<Record<keyof SimStats, number>> = {};
    for (let seed = FROM; seed < FROM + SEEDS; seed++) {
      const r = simulate(seed, { duration: DURATION });
      for (const [k, v] of Object.entries(r.stats) as Array<[keyof SimStats, number]>) {
        total[k] = (total[k] ?? 0) + Math.max(0, v);
      }
      if (!r.ok) failures.push(r);
    }
    if (failures.length > 0) {
      expect.fail(`${failures.length} of ${SEEDS} seeds failed:\n${describeFailures(failures)}`);
    }
    // The simulation must actually have exercised the cluster.
    expect(total.elections).toBeGreaterThan(SEEDS);
    expect(total.committed).toBeGreaterThan(SEEDS * 20);
    expect(total.writesAcked).toBeGreaterThan(SEEDS * 10);
    expect(total.readsServed).toBeGreaterThan(SEEDS * 5);
    expect(total.unknownOps).toBeGreaterThan(0);
    expect(total.crashes).toBeGreaterThan(SEEDS / 2);
    expect(total.partitions).toBeGreaterThan(SEEDS / 2);
    expect(total.transfers).toBeGreaterThan(0);
    expect(total.messagesLost).toBeGreaterThan(0);
    expect(total.messagesDuplicated).toBeGreaterThan(0);
    expect(total.compactions).toBeGreaterThan(0);
    if (SEEDS >= 100) expect(total.snapshotsInstalled).toBeGreaterThan(0);
    // Membership changed: proposed (some refused while another was pending), committed, through
    // joint consensus too, with nodes joining and leaving; never an invalid change.
    expect(total.confProposed).toBeGreaterThan(SEEDS * 2);
    expect(total.confRefused).toBeGreaterThan(0);
    expect(total.confCommitted).toBeGreaterThan(SEEDS * 2);
    expect(total.confInvalid).toBe(0);
    expect(total.jointEntered).toBeGreaterThan(SEEDS / 2);
    expect(total.jointLeft).toBeGreaterThan(SEEDS / 2);
    expect(total.nodesSpawned).toBeGreaterThan(SEEDS);
    expect(total.nodesAdded).toBeGreaterThan(SEEDS);
    expect(total.nodesRemoved).toBeGreaterThan(SEEDS / 2);
    if (SEEDS >= 100) {
      // Every kind of change was committed: learners added and promoted, voters added, removed
      // (the leader too) and demoted, replacements, 3→5 and 5→3 through joint configs, joint
      // configs left explicitly and automatically. Nodes restarted, and installed snapshots,
      // with a changed membership.
      for (const kind of CONF_KINDS) expect(total[confKindStat(kind)], kind).toBeGreaterThan(0);
      expect(total.confRestarts).toBeGreaterThan(0);
      expect(total.confSnapshots).toBeGreaterThan(0);
    }
  }, 600_000);

  it("replays a seed exactly: same trace, history and statistics", () => {
    for (const seed of [3, 17]) {
      const run = () => simulate(seed, { duration: 1500, keepTrace: true, traceCapacity: 1_000_000 });
      const a = run();
      const b = run();
      expect(a.ok).toBe(true);
      expect(a.trace?.length).toBeGreaterThan(1000);
      expect(b.trace).toEqual(a.trace);
      expect(b.history).toEqual(a.history);
      expect(b.stats).toEqual(a.stats);
    }
  });

  it("gives different seeds different runs", () => {
    const a = simulate(5, { duration: 500 });
    const b = simulate(6, { duration: 500 });
    expect(a.stats).not.toEqual(b.stats);
  });
});

describe("the checks catch a broken harness", () => {
  it("catches a disk that forgets the vote on restart", () => {
    const f = firstFailure(1, 100, { duration: 2000, bugs: { forgetVote: true } });
    expect(f?.violation).toMatch(/changed its vote|granted its vote|election safety/);
  });

  it("catches a forgotten vote through election safety alone", () => {
    // Frequent crashes with quick restarts while vote requests are slow: a restarted node
    // grants a second candidate the vote it already gave in that term.
    const f = firstFailure(1, 2000, {
      duration: 2000,
      bugs: { forgetVote: true },
      checkVotes: false,
      overrides: {
        nodes: 3,
        preVote: false,
        checkQuorum: false,
        crashEvery: 40,
        downtime: 15,
        partitionEvery: 100,
        partitionLength: 150,
        links: { ...QUIET_LINKS, longDelayRate: 0.3, longDelayMin: 20, longDelayMax: 200, maxDelay: 20 },
      },
    });
    expect(f?.violation).toMatch(/^election safety/);
  }, 120_000);

  it("catches a disk that loses recently written entries on a crash", () => {
    let caught: Failure | undefined;
    for (let seed = 1; seed <= 500 && !caught; seed++) {
      const r = simulate(seed, { duration: 2000, bugs: { loseTail: true } });
      // The core itself often notices the loss (commit index past the log); look for a seed
      // where the simulation's own invariants do.
      if (
        !r.ok &&
        /leader completeness|committed entry|log matching|state-machine safety/.test(r.violation)
      ) {
        caught = r;
      }
    }
    expect(caught?.violation).toBeDefined();
  }, 120_000);

  it("catches reads served from a node's local state (not linearizable)", () => {
    const f = firstFailure(1, 50, { duration: 2000, bugs: { staleReads: true } });
    expect(f?.violation).toMatch(/^linearizability/);
  });
});

describe("the membership checks catch a broken harness", () => {
  // Each bug breaks one thing. Where another check would notice it first, that check is left out
  // (as checkVotes is above), so the check under test must catch the bug on its own.

  /** Some seed's run fails with a violation matching `re`. */
  function expectCaught(options: SimOptions, re: RegExp, seeds = 100): void {
    const f = firstFailureMatching(1, seeds, { ...CHURN, ...options }, re);
    expect(f?.violation, `no seed in 1..${seeds} failed with ${re}`).toMatch(re);
  }

  it("catches a node that applies a configuration change differently (configuration agreement)", () => {
    expectCaught(
      { bugs: { divergentConfChange: true }, checkConfModel: false, checkMembership: false },
      /^configuration agreement: at index \d+ node n\d+ computed/,
    );
  });

  it("catches nodes that all apply a change the same wrong way (the configuration model)", () => {
    expectCaught({ bugs: { wrongConfChange: true } }, /^configuration model: node n\d+ applied .*addLearner/);
  });

  it("catches a node restarting from a snapshot that lost its ConfState (membership views)", () => {
    expectCaught(
      { bugs: { loseConfState: true } },
      /^membership: node n\d+ restarted from snapshot \d+ \(its core\) has membership \{\}/,
    );
  });

  it("catches a snapshot that records a stale membership", () => {
    expectCaught(
      { bugs: { staleSnapshotConf: true } },
      /^membership: node n\d+'s snapshot at \d+ carries membership/,
    );
  });

  it("catches a learner that believes it votes becoming leader (only voters lead)", () => {
    expectCaught(
      { bugs: { learnerSelfPromotes: true }, checkMembership: false },
      /^non-voter leads: n\d+ became leader of term \d+, but it is not a voter/,
    );
  });

  it("catches leaders that count learners toward commit (only voters commit)", () => {
    expectCaught(
      { bugs: { learnerCounted: true }, checkMembership: false },
      /^commit quorum: leader n\d+ of term \d+ committed .* \(and learners \[/,
    );
  });

  it("catches a removed node that ignores its removal winning an election", () => {
    // It leads knowing it was removed, or it commits with a quorum of a membership it left.
    expectCaught(
      { bugs: { removedStays: true }, checkMembership: false },
      /^(removed node leads: n\d+ became leader of term \d+, but it knew its removal|commit quorum: leader n\d+ of term)/,
      200,
    );
  });
});
