import { type Slicer, stringUnits } from "./slicer.js";
import { escapeKey, type Inner, stringifyPath, type Tree } from "./superjsonPaths.js";
import {
  classAnnotation,
  FORBIDDEN,
  isContainer,
  isPrimitive,
  NotSliceable,
  scalar,
  superjsonIsPristine,
} from "./superjsonRules.js";

/** A path as a chain from the value up to the root (the root's own path is null: []). */
interface PathNode {
  parent: PathNode | null;
  key: string;
}

function pathOf(p: PathNode | null): string[] {
  const out: string[] = [];
  for (let n = p; n !== null; n = n.parent) out.push(n.key);
  return out.reverse();
}

const OBJECT = 0;
const ARRAY = 1;
const SET = 2;
const MAP = 3;
/** One [key, value] entry of a Map, which superjson writes as a two-element array. */
const PAIR = 4;

/** A container being written: its children are visited one per step. */
interface Frame {
  kind: typeof OBJECT | typeof ARRAY | typeof SET | typeof MAP | typeof PAIR;
  value: unknown;
  /** Null when replaying (see below) or for the root. */
  path: PathNode | null;
  /**
   * Written again because superjson saw it before: the same JSON, but no identities or
   * annotations (superjson reuses the first visit's result and does not walk it again).
   */
  replay: boolean;
  type: "map" | "set" | ["class", string] | undefined;
  inner: Inner | undefined;
  parent: Frame | null;
  /** The key this container has in its parent. */
  key: string;
  i: number;
  keys: string[] | undefined;
  iter: Iterator<unknown> | undefined;
  entry: [unknown, unknown] | undefined;
}

/**
 * Writes `value` as `superjson.stringify` does — the same bytes — in slices: a walk of the
 * value that yields to the event loop between slices (see {@link Slicer}). It reproduces what
 * superjson's walker records on the way: the annotations of Maps, Sets, Dates, BigInts,
 * undefined, non-finite numbers and raftkit's state classes' instances (written as objects of
 * their own enumerable properties, see stateClasses.ts), and the paths of values met more than
 * once (superjson's "referential equalities"). The value must not change until the returned
 * promise settles (raftkit's states are frozen by immer; what is not, the caller copies first).
 *
 * NB: an array's own properties other than its indices are left out, where superjson would
 * annotate them (JSON has no place for them either way).
 *
 * Rejects with {@link NotSliceable} for what it leaves to superjson. `sink` gets the UTF-8
 * bytes in order, in chunks of about 64 KB.
 */
export async function encodeSliced(
  value: unknown,
  slicer: Slicer,
  sink: (chunk: Uint8Array) => void,
): Promise<void> {
  if (!superjsonIsPristine())
    throw new NotSliceable("superjson has registered classes, symbols or transformers of its user");
  await new SlicedEncoder(slicer, sink).run(value);
}

const enc = new TextEncoder();
const CHUNK_CHARS = 64 * 1024;

class SlicedEncoder {
  readonly #slicer: Slicer;
  readonly #sink: (chunk: Uint8Array) => void;
  #out = "";
  readonly #stack: Frame[] = [];
  /** superjson's seenObjects: the annotations of every non-primitive value written so far. */
  readonly #seen = new Map<unknown, Tree | undefined>();
  /** Values being written (cycles are left to superjson). */
  readonly #ancestors = new Set<unknown>();
  /** superjson's identities, in first-seen order: each non-primitive value's first path, and any further ones. */
  readonly #firstPath = new Map<unknown, PathNode | null>();
  readonly #morePaths = new Map<unknown, (PathNode | null)[]>();
  #rootTree: Tree | undefined;

  constructor(slicer: Slicer, sink: (chunk: Uint8Array) => void) {
    this.#slicer = slicer;
    this.#sink = sink;
  }

  async run(value: unknown): Promise<void> {
    this.#emit('{"json":');
    this.#slicer.spend(this.#visit(value, null, false, null, ""));
    await this.#walk();
    const meta: { values?: Tree; referentialEqualities?: unknown; v?: number } = {};
    if (this.#rootTree !== undefined) meta.values = this.#rootTree;
    const equalities = await this.#equalities();
    if (equalities !== undefined) meta.referentialEqualities = equalities;
    if (meta.values !== undefined || equalities !== undefined) {
      meta.v = 1;
      this.#emit(',"meta":');
      await this.#emitJson(meta);
    }
    this.#emit("}");
    this.#flush();
  }

  #emit(s: string): void {
    this.#out += s;
    if (this.#out.length >= CHUNK_CHARS) this.#flush();
  }

  #flush(): void {
    if (this.#out.length === 0) return;
    this.#sink(enc.encode(this.#out));
    this.#out = "";
  }

  /** Writes the containers on the stack, one child per step. */
  async #walk(): Promise<void> {
    const stack = this.#stack;
    while (stack.length > 0) {
      const f = stack[stack.length - 1]!;
      let units = 0;
      switch (f.kind) {
        case OBJECT: {
          const keys = f.keys!;
          if (f.i < keys.length) {
            const k = keys[f.i]!;
            if (FORBIDDEN.has(k)) throw new NotSliceable(`the key ${k}`);
            this.#emit(`${f.i++ > 0 ? "," : ""}${JSON.stringify(k)}:`);
            units = this.#visit((f.value as Record<string, unknown>)[k], this.#child(f, k), f.replay, f, k);
          }
          break;
        }
        case ARRAY: {
          const a = f.value as unknown[];
          if (f.i < a.length) {
            const i = f.i++;
            const x = a[i];
            if (x === undefined && !(i in a)) throw new NotSliceable("a sparse array");
            if (i > 0) this.#emit(",");
            units = this.#visit(x, this.#child(f, String(i)), f.replay, f, String(i));
          }
          break;
        }
        case SET: {
          const r = f.iter!.next();
          if (!r.done) {
            const i = f.i++;
            if (i > 0) this.#emit(",");
            units = this.#visit(r.value, this.#child(f, String(i)), f.replay, f, String(i));
          }
          break;
        }
        case MAP: {
          const r = f.iter!.next();
          if (!r.done) {
            const i = String(f.i);
            this.#emit(f.i++ > 0 ? ",[" : "[");
            stack.push(this.#frame(PAIR, undefined, this.#child(f, i), f.replay, f, i));
            stack[stack.length - 1]!.entry = r.value as [unknown, unknown];
            units = 1;
          }
          break;
        }
        case PAIR: {
          if (f.i < 2) {
            const i = f.i++;
            if (i > 0) this.#emit(",");
            units = this.#visit(f.entry![i], this.#child(f, String(i)), f.replay, f, String(i));
          }
          break;
        }
      }
      if (units === 0) {
        stack.pop();
        this.#done(f);
        units = 1;
      }
      if (this.#slicer.spend(units)) await this.#slicer.next();
    }
  }

  #child(f: Frame, key: string): PathNode | null {
    return f.replay ? null : { parent: f.path, key };
  }

  #frame(
    kind: Frame["kind"],
    value: unknown,
    path: PathNode | null,
    replay: boolean,
    parent: Frame | null,
    key: string,
  ): Frame {
    return {
      kind,
      value,
      path,
      replay,
      type: kind === MAP ? "map" : kind === SET ? "set" : undefined,
      inner: undefined,
      parent,
      key,
      i: 0,
      keys: undefined,
      iter: undefined,
      entry: undefined,
    };
  }

  /** Writes a value: a scalar at once, a container by pushing its frame. Returns the work units spent. */
  #visit(v: unknown, path: PathNode | null, replay: boolean, parent: Frame | null, key: string): number {
    const primitive = isPrimitive(v);
    if (!primitive && !replay) {
      this.#addIdentity(v, path);
      if (this.#seen.has(v)) {
        this.#merge(parent, key, this.#seen.get(v));
        replay = true;
      }
    }
    if (!isContainer(v)) {
      const s = scalar(v);
      this.#emit(s.json);
      if (!replay) {
        const tree: Tree | undefined = s.type === undefined ? undefined : [s.type];
        if (!primitive) this.#seen.set(v, tree);
        this.#merge(parent, key, tree);
      }
      return typeof v === "string" ? stringUnits(v.length) : 1;
    }
    if (!replay) {
      if (this.#ancestors.has(v)) throw new NotSliceable("a cycle");
      this.#ancestors.add(v);
    }
    let f: Frame;
    if (Array.isArray(v)) {
      f = this.#frame(ARRAY, v, path, replay, parent, key);
      this.#emit("[");
    } else if (v instanceof Map) {
      f = this.#frame(MAP, v, path, replay, parent, key);
      f.iter = v.entries();
      this.#emit("[");
    } else if (v instanceof Set) {
      f = this.#frame(SET, v, path, replay, parent, key);
      f.iter = v.values();
      this.#emit("[");
    } else {
      // A plain object, or a state class's instance: superjson walks the own enumerable properties of both.
      f = this.#frame(OBJECT, v, path, replay, parent, key);
      f.type = classAnnotation(v);
      f.keys = Object.keys(v);
      this.#emit("{");
    }
    this.#stack.push(f);
    return 1 + (f.keys ? f.keys.length >> 4 : 0);
  }

  /** A container is written: close it, and hand its annotations to its parent (superjson's walker return). */
  #done(f: Frame): void {
    this.#emit(f.kind === OBJECT ? "}" : "]");
    if (f.replay) return;
    const tree: Tree | undefined =
      f.inner === undefined
        ? f.type === undefined
          ? undefined
          : [f.type]
        : f.type === undefined
          ? f.inner
          : [f.type, f.inner];
    if (f.kind !== PAIR) {
      this.#seen.set(f.value, tree);
      this.#ancestors.delete(f.value);
    }
    this.#merge(f.parent, f.key, tree);
  }

  /** superjson's walker: a child's annotations go into its parent's, under the child's escaped key. */
  #merge(parent: Frame | null, key: string, tree: Tree | undefined): void {
    if (tree === undefined) return;
    if (parent === null) {
      this.#rootTree = tree;
      return;
    }
    parent.inner ??= {};
    const inner = parent.inner;
    const k = escapeKey(key);
    if (Array.isArray(tree)) inner[k] = tree;
    else for (const sub of Object.keys(tree)) inner[`${k}.${sub}`] = tree[sub]!;
  }

  #addIdentity(v: unknown, path: PathNode | null): void {
    if (!this.#firstPath.has(v)) {
      this.#firstPath.set(v, path);
      return;
    }
    const more = this.#morePaths.get(v);
    if (more) more.push(path);
    else this.#morePaths.set(v, [path]);
  }

  /** superjson's generateReferentialEqualityAnnotations (not deduplicating): shortest path first. */
  async #equalities(): Promise<unknown> {
    if (this.#morePaths.size === 0) return undefined;
    const result: Record<string, string[]> = {};
    let root: string[] | undefined;
    for (const [v, first] of this.#firstPath) {
      const more = this.#morePaths.get(v);
      if (more === undefined) continue;
      const paths = [first, ...more].map(pathOf).sort((a, b) => a.length - b.length);
      const [representative, ...identical] = paths as [string[], ...string[][]];
      if (representative.length === 0) root = identical.map(stringifyPath);
      else result[stringifyPath(representative)] = identical.map(stringifyPath);
      if (this.#slicer.spend(paths.length)) await this.#slicer.next();
    }
    const empty = Object.keys(result).length === 0;
    if (root !== undefined) return empty ? [root] : [root, result];
    return empty ? undefined : result;
  }

  /** JSON.stringify of plain JSON data (the meta), in slices. */
  async #emitJson(value: unknown): Promise<void> {
    const stack: { v: object; keys: string[] | null; i: number }[] = [];
    const open = (v: unknown): void => {
      if (typeof v !== "object" || v === null) {
        this.#emit(JSON.stringify(v));
        return;
      }
      const keys = Array.isArray(v) ? null : Object.keys(v);
      this.#emit(keys ? "{" : "[");
      stack.push({ v, keys, i: 0 });
    };
    open(value);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const n = top.keys ? top.keys.length : (top.v as unknown[]).length;
      if (top.i < n) {
        const i = top.i++;
        if (i > 0) this.#emit(",");
        if (top.keys) {
          this.#emit(`${JSON.stringify(top.keys[i])}:`);
          open((top.v as Record<string, unknown>)[top.keys[i]!]);
        } else open((top.v as unknown[])[i]);
      } else {
        stack.pop();
        this.#emit(top.keys ? "}" : "]");
      }
      if (this.#slicer.spend(1)) await this.#slicer.next();
    }
  }
}
