import { immerable } from "immer";
import { registerStateClass } from "../../src/snapshot/stateClasses.js";

interface Leaf {
  keys: string[];
  values: unknown[];
}
interface Branch {
  keys: string[];
  children: Leaf[];
}

/**
 * A state class shaped as raftkit's SortedMap is: two own enumerable properties, `root` (plain
 * nodes: a leaf, or a branch over leaves) and `count`, methods on the prototype, drafted by
 * immer through the class. Registered once, when this module is imported.
 */
export class TestTree {
  static [immerable] = true;
  root: Leaf | Branch;
  count: number;

  /** Sorted entries; more than 3 make a branch over leaves of up to 3. */
  constructor(entries: [string, unknown][] = []) {
    const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const leaf = (part: [string, unknown][]): Leaf => ({
      keys: part.map(([k]) => k),
      values: part.map(([, v]) => v),
    });
    if (sorted.length <= 3) this.root = leaf(sorted);
    else {
      const children: Leaf[] = [];
      for (let i = 0; i < sorted.length; i += 3) children.push(leaf(sorted.slice(i, i + 3)));
      this.root = { keys: children.slice(1).map((c) => c.keys[0]!), children };
    }
    this.count = sorted.length;
  }

  get size(): number {
    return this.count;
  }

  get(key: string): unknown {
    const leaves = "children" in this.root ? this.root.children : [this.root];
    for (const l of leaves) {
      const i = l.keys.indexOf(key);
      if (i >= 0) return l.values[i];
    }
    return undefined;
  }

  /** Sets a value of a key it holds (a reducer's change, through immer's drafts). */
  replace(key: string, value: unknown): void {
    const leaves = "children" in this.root ? this.root.children : [this.root];
    for (const l of leaves) {
      const i = l.keys.indexOf(key);
      if (i >= 0) l.values[i] = value;
    }
  }
}

registerStateClass(TestTree, "raftkit.test.TestTree");
