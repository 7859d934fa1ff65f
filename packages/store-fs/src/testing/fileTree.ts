import path from "node:path";
import { diskError } from "./diskErrors.js";
import { FileContent, type Tear } from "./fileContent.js";

export class FileNode {
  readonly kind = "file";
  readonly content = new FileContent();
}

/** A directory: its entries as they are now, and as they were at its last fsync. */
export class DirNode {
  readonly kind = "dir";
  entries = new Map<string, TreeNode>();
  durable = new Map<string, TreeNode>();
}

export type TreeNode = FileNode | DirNode;

/** Absolute, normalized, with `/` separators. */
export function normalize(p: string): string {
  return path.posix.resolve("/", p);
}

/**
 * The directories and files of a simulated disk. Names live in directories' `entries`; an
 * entry becomes durable only when its directory is fsynced (`syncDir`), as on Linux.
 * Errors are node-shaped (`code`, a message naming the path).
 */
export class FileTree {
  readonly root = new DirNode();

  lookup(p: string): TreeNode | undefined {
    let node: TreeNode = this.root;
    for (const name of normalize(p).split("/").filter(Boolean)) {
      if (node.kind !== "dir") return undefined;
      const next = node.entries.get(name);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  file(p: string, syscall: string): FileNode {
    const node = this.lookup(p);
    if (!node) throw diskError("ENOENT", syscall, p);
    if (node.kind !== "file") throw diskError("EISDIR", syscall, p);
    return node;
  }

  dir(p: string, syscall: string): DirNode {
    const node = this.lookup(p);
    if (!node) throw diskError("ENOENT", syscall, p);
    if (node.kind !== "dir") throw diskError("ENOTDIR", syscall, p);
    return node;
  }

  /** The directory that holds `p`, and `p`'s name in it. */
  parent(p: string, syscall: string): { dir: DirNode; name: string } {
    const n = normalize(p);
    const node = this.lookup(path.posix.dirname(n));
    if (!node) throw diskError("ENOENT", syscall, p);
    if (node.kind !== "dir") throw diskError("ENOTDIR", syscall, p);
    return { dir: node, name: path.posix.basename(n) };
  }

  create(p: string): FileNode {
    const { dir, name } = this.parent(p, "open");
    if (dir.entries.has(name)) throw diskError("EEXIST", "open", p);
    const file = new FileNode();
    dir.entries.set(name, file);
    return file;
  }

  /** Creates `p` and missing parents; returns the first directory created, or undefined. */
  mkdir(p: string): string | undefined {
    let node: DirNode = this.root;
    let at = "/";
    let first: string | undefined;
    for (const name of normalize(p).split("/").filter(Boolean)) {
      at = path.posix.join(at, name);
      const next = node.entries.get(name);
      if (next?.kind === "file") throw diskError(at === normalize(p) ? "EEXIST" : "ENOTDIR", "mkdir", p);
      if (next) {
        node = next;
        continue;
      }
      const dir = new DirNode();
      node.entries.set(name, dir);
      first ??= at;
      node = dir;
    }
    return first;
  }

  rename(from: string, to: string): void {
    const src = this.parent(from, "rename");
    const node = src.dir.entries.get(src.name);
    if (!node) throw diskError("ENOENT", "rename", from);
    const dst = this.parent(to, "rename");
    if (dst.dir.entries.get(dst.name)?.kind === "dir") throw diskError("EISDIR", "rename", to);
    src.dir.entries.delete(src.name);
    dst.dir.entries.set(dst.name, node);
  }

  unlink(p: string): void {
    const { dir, name } = this.parent(p, "unlink");
    const node = dir.entries.get(name);
    if (!node) throw diskError("ENOENT", "unlink", p);
    if (node.kind === "dir") throw diskError("EISDIR", "unlink", p);
    dir.entries.delete(name);
  }

  /** Every file under `dir`, as full paths in name order; through durable entries if `durable`. */
  files(dir: string, durable = false): { path: string; file: FileNode }[] {
    const out: { path: string; file: FileNode }[] = [];
    const walk = (node: DirNode, at: string): void => {
      const entries = durable ? node.durable : node.entries;
      for (const name of [...entries.keys()].sort()) {
        const child = entries.get(name)!;
        const p = path.posix.join(at, name);
        if (child.kind === "dir") walk(child, p);
        else out.push({ path: p, file: child });
      }
    };
    const start = durable ? this.#durableLookup(dir) : this.lookup(dir);
    if (start?.kind === "dir") walk(start, normalize(dir));
    return out;
  }

  /** The file at `p` as a crash would leave the names, or undefined if it would not exist. */
  durableFile(p: string): FileNode | undefined {
    const node = this.#durableLookup(p);
    return node?.kind === "file" ? node : undefined;
  }

  /**
   * Turns back every directory to its last fsync and every file to its last datasync, tearing
   * each file's last unsynced write by `random`. Files are visited in path order, so the same
   * random source gives the same crash.
   */
  crash(random: () => number): { path: string; tear: Tear }[] {
    const torn: { path: string; tear: Tear }[] = [];
    const seen = new Set<TreeNode>();
    const walk = (dir: DirNode, at: string): void => {
      dir.entries = new Map(dir.durable);
      for (const name of [...dir.entries.keys()].sort()) {
        const child = dir.entries.get(name)!;
        if (seen.has(child)) continue;
        seen.add(child);
        const p = path.posix.join(at, name);
        if (child.kind === "dir") walk(child, p);
        else {
          const tear = child.content.crash(random);
          if (tear) torn.push({ path: p, tear });
        }
      }
    };
    walk(this.root, "/");
    return torn;
  }

  #durableLookup(p: string): TreeNode | undefined {
    let node: TreeNode = this.root;
    for (const name of normalize(p).split("/").filter(Boolean)) {
      if (node.kind !== "dir") return undefined;
      const next = node.durable.get(name);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }
}
