import { lowerBound, type SortedMapKey, upperBound } from "./keys.js";
import { type Branch, isLeaf, keysOf, type Leaf, type TreeNode } from "./nodes.js";

/** Where a walk starts: at (or, `exclusive`, past) `key`, or at the end of the map. */
export interface Seek {
  key: SortedMapKey | undefined;
  exclusive: boolean;
}

/**
 * A position in the tree: the branches above a leaf with the child taken in each, the leaf,
 * and an index in it. Walking moves between leaves through the branches (nodes have no
 * sibling links: a draft copies only the path it changes).
 */
export class Cursor<V> {
  readonly #path: { node: Branch<V>; i: number }[] = [];
  #leaf: Leaf<V> | undefined;
  #i = 0;

  /** Positioned on the first entry at or after `seek` (`reverse`: the last at or before it); done if none. */
  constructor(
    root: TreeNode<V>,
    seek: Seek,
    readonly reverse: boolean,
  ) {
    let node = root;
    const key = seek.key;
    while (!isLeaf(node)) {
      const children = node.children;
      let i: number;
      if (key === undefined) i = reverse ? children.length - 1 : 0;
      else i = Math.max(0, upperBound(keysOf(node), key) - 1);
      this.#path.push({ node, i });
      node = children[i]!;
    }
    this.#leaf = node;
    const keys = keysOf(node);
    if (key === undefined) this.#i = reverse ? keys.length - 1 : 0;
    else if (!reverse) this.#i = seek.exclusive ? upperBound(keys, key) : lowerBound(keys, key);
    else this.#i = (seek.exclusive ? lowerBound(keys, key) : upperBound(keys, key)) - 1;
    this.#settle();
  }

  get done(): boolean {
    return this.#leaf === undefined;
  }
  get key(): SortedMapKey {
    return keysOf(this.#leaf!)[this.#i]!;
  }
  get value(): V {
    return this.#leaf!.values[this.#i]!;
  }

  next(): void {
    this.#i += this.reverse ? -1 : 1;
    this.#settle();
  }

  /** Moves to the neighbouring leaf while the index is outside the current one. */
  #settle(): void {
    while (this.#leaf !== undefined && (this.#i < 0 || this.#i >= keysOf(this.#leaf).length)) {
      let top = this.#path.at(-1);
      while (top !== undefined && (this.reverse ? top.i === 0 : top.i === top.node.children.length - 1)) {
        this.#path.pop();
        top = this.#path.at(-1);
      }
      if (top === undefined) {
        this.#leaf = undefined;
        return;
      }
      top.i += this.reverse ? -1 : 1;
      let node = top.node.children[top.i]!;
      while (!isLeaf(node)) {
        const i = this.reverse ? node.children.length - 1 : 0;
        this.#path.push({ node, i });
        node = node.children[i]!;
      }
      this.#leaf = node;
      this.#i = this.reverse ? keysOf(node).length - 1 : 0;
    }
  }
}
