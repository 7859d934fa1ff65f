import { describe, expect, it } from "vitest";
import type { NodeId } from "../../src/index.js";
import { jointCommittedIndex, jointVoteResult, jointVoterIds } from "../../src/quorum/joint.js";
import { majorityCommittedIndex, majorityVoteResult } from "../../src/quorum/majority.js";
import type { VoteResult } from "../../src/quorum/voteResult.js";

const set = (ids: string) => new Set(ids === "" ? [] : ids.split(""));
const acked = (m: Record<NodeId, number>) => (id: NodeId) => m[id];
/** Votes written as e.g. "a+ b- c+" (absent voters have not answered). */
function votes(s: string): Map<NodeId, boolean> {
  const m = new Map<NodeId, boolean>();
  for (const v of s.split(" ").filter(Boolean)) m.set(v.slice(0, -1), v.endsWith("+"));
  return m;
}

describe("majority quorum: committed index", () => {
  const cases: Array<[string, Record<NodeId, number>, number]> = [
    ["a", { a: 5 }, 5],
    ["a", {}, 0],
    ["ab", { a: 5, b: 3 }, 3],
    ["abc", { a: 1, b: 2, c: 3 }, 2],
    ["abc", { a: 3, b: 3 }, 3],
    ["abc", { a: 3 }, 0],
    ["abcd", { a: 5, b: 5, c: 3, d: 1 }, 3],
    ["abcd", { a: 5, b: 5 }, 0],
    ["abcde", { a: 9, b: 8, c: 7, d: 1, e: 1 }, 7],
    ["abcde", { a: 9, b: 8, e: 1 }, 1],
  ];
  for (const [voters, m, want] of cases) {
    it(`voters ${voters} with acks ${JSON.stringify(m)} commit ${want}`, () => {
      expect(majorityCommittedIndex(set(voters), acked(m))).toBe(want);
    });
  }

  it("an empty config commits everything (it never holds back a joint config)", () => {
    expect(majorityCommittedIndex(set(""), acked({ a: 3 }))).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe("majority quorum: vote result", () => {
  const cases: Array<[string, string, VoteResult]> = [
    ["", "", "won"],
    ["a", "", "pending"],
    ["a", "a+", "won"],
    ["a", "a-", "lost"],
    ["ab", "a+", "pending"],
    ["ab", "a+ b-", "lost"],
    ["ab", "a+ b+", "won"],
    ["abc", "a+", "pending"],
    ["abc", "a+ b+", "won"],
    ["abc", "a+ b-", "pending"],
    ["abc", "a- b-", "lost"],
    ["abc", "a+ b- c-", "lost"],
    ["abcd", "a+ b+", "pending"],
    ["abcd", "a+ b+ c-", "pending"],
    ["abcd", "a+ b+ c- d-", "lost"],
    ["abcd", "a+ b+ c+", "won"],
    ["abc", "x+ y+", "pending"],
  ];
  for (const [voters, v, want] of cases) {
    it(`voters {${voters}} with votes "${v}" is ${want}`, () => {
      expect(majorityVoteResult(set(voters), votes(v))).toBe(want);
    });
  }
});

describe("joint quorum", () => {
  const committed: Array<[string, string, Record<NodeId, number>, number]> = [
    ["abc", "", { a: 5, b: 4, c: 1 }, 4],
    ["abc", "abc", { a: 5, b: 4, c: 1 }, 4],
    ["abc", "cde", { a: 9, b: 9, c: 4, d: 2, e: 1 }, 2],
    ["abc", "cde", { a: 1, b: 1, c: 4, d: 7, e: 7 }, 1],
    ["ab", "cd", { a: 3, b: 3, c: 3, d: 2 }, 2],
    ["", "", {}, Number.MAX_SAFE_INTEGER],
  ];
  for (const [inc, out, m, want] of committed) {
    it(`[{${inc}}, {${out}}] with acks ${JSON.stringify(m)} commits ${want}`, () => {
      expect(jointCommittedIndex([set(inc), set(out)], acked(m))).toBe(want);
    });
  }

  const results: Array<[string, string, string, VoteResult]> = [
    ["abc", "", "a+ b+", "won"],
    ["abc", "", "a- b-", "lost"],
    ["abc", "cde", "a+ b+", "pending"],
    ["abc", "cde", "a+ b+ c+ d+", "won"],
    ["abc", "cde", "a+ b+ d- e-", "lost"],
    ["abc", "cde", "a- b- d+ e+", "lost"],
    ["abc", "cde", "a+ c- d-", "lost"],
    ["abc", "cde", "a+ c- e+", "pending"],
    ["abc", "cde", "c+ d+", "pending"],
    ["", "", "", "won"],
  ];
  for (const [inc, out, v, want] of results) {
    it(`[{${inc}}, {${out}}] with votes "${v}" is ${want}`, () => {
      expect(jointVoteResult([set(inc), set(out)], votes(v))).toBe(want);
    });
  }

  it("its voters are the union of both halves, each once", () => {
    expect([...jointVoterIds([set("abc"), set("cde")])].sort()).toEqual(["a", "b", "c", "d", "e"]);
    expect([...jointVoterIds([set(""), set("")])]).toEqual([]);
  });
});
