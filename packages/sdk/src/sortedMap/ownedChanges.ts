import { holdsNoObject, isLeaf, made, ownedChange, type TreeNode } from "./nodes.js";

/*
 * Changes a reducer makes to a SortedMap whose tree holds no object are made outside immer: the
 * change copies the nodes on its path itself (nodes.ts's writableChild), the map's draft takes
 * the new root, and the copies are frozen as soon as the change ends. Immer then neither drafts
 * the path (a proxy per node and array) nor walks its arrays when it finalizes (it skips what
 * is frozen); on a node that has not run for a while, most of a put's apply was those walks.
 * A tree that holds objects goes through immer's drafts, so that a value read from it is a
 * draft a reducer may change.
 */

/** Whether a frozen tree holds no object among its values, by root node. */
const primitiveTrees = new WeakMap<object, boolean>();

function holdsOnlyPrimitives<V>(node: TreeNode<V>): boolean {
  if (isLeaf(node)) return holdsNoObject(node.values);
  for (const child of node.children) if (!holdsOnlyPrimitives(child)) return false;
  return true;
}

/**
 * Whether a change may copy the tree under `root` outside immer: a tree this reducer copied
 * already (not frozen), or a frozen one without objects (found once per root, and known for the
 * roots {@link endOwnedChange} leaves).
 */
export function ownable<V>(root: TreeNode<V>): boolean {
  if (!Object.isFrozen(root)) return true;
  let known = primitiveTrees.get(root);
  if (known === undefined) {
    known = holdsOnlyPrimitives(root);
    primitiveTrees.set(root, known);
  }
  return known;
}

/**
 * Ends a change: freezes, from the leaves up, each node it copied that holds only frozen nodes
 * and, in a leaf, no object (immer must finalize those: a value may be a draft). A frozen new
 * root is a tree without objects, remembered as such.
 */
export function endOwnedChange(root: TreeNode<unknown>): void {
  const open = ownedChange.open;
  ownedChange.open = false;
  ownedChange.active = false;
  if (made.length === 0) return;
  if (!open) {
    // Copies of frozen nodes holding no object, changed with numbers and strings only.
    for (const node of made) {
      Object.freeze(node.keys);
      Object.freeze(isLeaf(node) ? node.values : node.children);
      Object.freeze(node);
    }
  }
  for (let froze = open; froze; ) {
    froze = false;
    for (let i = made.length - 1; i >= 0; i--) {
      const node = made[i]!;
      if (Object.isFrozen(node)) continue;
      const clean = isLeaf(node)
        ? holdsNoObject(node.values)
        : node.children.every((child) => Object.isFrozen(child));
      if (!clean) continue;
      Object.freeze(node.keys);
      Object.freeze(isLeaf(node) ? node.values : node.children);
      Object.freeze(node);
      froze = true;
    }
  }
  made.length = 0;
  if (Object.isFrozen(root)) primitiveTrees.set(root, true);
}
