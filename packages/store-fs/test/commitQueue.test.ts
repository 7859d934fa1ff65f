import { describe, expect, it } from "vitest";
import { CommitQueue } from "../src/commitQueue.js";

/** A queue whose flushes are recorded and finish when the test says; `schedule` runs when the test says too. */
function harness() {
  const groups: number[][] = [];
  const finish: (() => void)[] = [];
  const scheduled: (() => void)[] = [];
  const q = new CommitQueue<number>(
    (items) => {
      groups.push(items);
      return new Promise<void>((r) => finish.push(r));
    },
    (e) => e as Error,
    (fn) => scheduled.push(fn),
  );
  const settle = () => new Promise((r) => setImmediate(r));
  return { q, groups, finish, scheduled, settle };
}

describe("CommitQueue", () => {
  it("starts a lone item's flush inside push, so its fsync is under way when the caller goes on", () => {
    const { q, groups } = harness();
    void q.push(1);
    expect(groups).toEqual([[1]]);
  });

  it("items pushed during a flush form the next group, after the callers just answered had their turn", async () => {
    const { q, groups, finish, scheduled, settle } = harness();
    const first = q.push(1);
    const later = [q.push(2), q.push(3)];
    finish.shift()!();
    await first;
    expect(groups).toEqual([[1]]);
    expect(scheduled).toHaveLength(1);
    void q.push(4);
    scheduled.shift()!();
    expect(groups).toEqual([[1], [2, 3, 4]]);
    finish.shift()!();
    await Promise.all(later);
    await settle();
    expect(scheduled).toHaveLength(0);
  });

  it("a push after the queue went idle starts at once, without waiting for the scheduler", async () => {
    const { q, groups, finish, scheduled } = harness();
    const first = q.push(1);
    finish.shift()!();
    await first;
    void q.push(2);
    expect(groups).toEqual([[1], [2]]);
    expect(scheduled).toHaveLength(0);
  });
});
