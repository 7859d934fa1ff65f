import { decodeValue } from "../codec.js";
import { MalformedJson, parseJsonSliced } from "./slicedJsonParse.js";
import type { Slicer } from "./slicer.js";
import { parsePath } from "./superjsonPaths.js";
import { superjsonIsPristine } from "./superjsonRules.js";

/** The annotations this decoder applies itself (Maps and Sets are built in slices); anything else goes to superjson. */
const UNTRANSFORM: Record<string, (v: unknown) => unknown> = {
  undefined: () => undefined,
  bigint: (v) => BigInt(v as string),
  Date: (v) => new Date(v as string),
  set: (v) => new Set(v as unknown[]),
  map: (v) => new Map(v as [unknown, unknown][]),
  number: Number,
};

/** Something this decoder leaves to superjson (which then gives its own result or error). */
class LeftToSuperjson extends Error {}

/** superjson's annotations of a value: its own type, its children's (by escaped path), or both. */
type Tree = [string] | [string, Inner] | Inner;
interface Inner {
  [path: string]: Tree;
}

const isPlain = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === null || (proto === Object.prototype && v !== Object.prototype);
};

function checkPath(path: readonly string[]): void {
  for (const s of path)
    if (s === "__proto__" || s === "prototype" || s === "constructor") throw new LeftToSuperjson(s);
}

/** Whether every annotation in `tree` is one this decoder applies. */
function supported(tree: Tree): boolean {
  const stack: Tree[] = [tree];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (Array.isArray(t)) {
      if (typeof t[0] !== "string" || !Object.hasOwn(UNTRANSFORM, t[0])) return false;
      if (t[1] !== undefined) stack.push(t[1]);
    } else if (isPlain(t)) for (const k of Object.keys(t)) stack.push(t[k]!);
    else return false;
  }
  return true;
}

/**
 * `superjson.parse` of UTF-8 bytes, in slices (see {@link Slicer}): the JSON is read with
 * {@link parseJsonSliced}, then superjson's annotations (Map, Set, Date, BigInt, undefined,
 * non-finite numbers) and its referential equalities are applied as superjson applies them, a
 * few at a time. Anything else (other annotations, an older superjson's format, malformed
 * bytes, a path superjson would refuse) is handed to superjson itself, at once, so the result
 * and the errors stay its own; `fallback` is told why. Throws {@link DecodeError} naming `what`.
 */
export async function decodeSliced<T>(
  bytes: Uint8Array,
  slicer: Slicer,
  what: string,
  fallback?: (reason: string) => void,
): Promise<T> {
  const atOnce = (reason: string): T => {
    fallback?.(reason);
    return decodeValue<T>(bytes, what);
  };
  if (!superjsonIsPristine()) return atOnce("superjson has registered classes, symbols or transformers");
  let top: unknown;
  try {
    top = await parseJsonSliced(bytes, slicer);
  } catch (e) {
    if (e instanceof MalformedJson) return atOnce(e.message);
    throw e;
  }
  if (!isPlain(top)) return atOnce("not superjson's format");
  const { json, meta } = top as {
    json: unknown;
    meta?: { values?: Tree; referentialEqualities?: unknown; v?: unknown };
  };
  if (meta === undefined) return json as T;
  if (meta.v !== 1 || (meta.values !== undefined && !supported(meta.values)))
    return atOnce("annotations this decoder leaves to superjson");
  try {
    const plain = meta.values === undefined ? json : await applyValues(json, meta.values, slicer);
    if (meta.referentialEqualities === undefined) return plain as T;
    return (await applyEqualities(plain, meta.referentialEqualities, slicer)) as T;
  } catch (e) {
    // A path superjson would also stumble on: decode again from the bytes and let superjson answer.
    return atOnce(`${(e as Error).message}`);
  }
}

/** superjson's applyValueAnnotations: each annotated value is converted after its children. */
async function applyValues(json: unknown, values: Tree, slicer: Slicer): Promise<unknown> {
  let root = json;
  /** A tree node: its children (by path) are visited first, then its own type applied. */
  const stack: { origin: string[]; type: string | undefined; children: Inner; keys: string[]; i: number }[] =
    [];
  const push = (tree: Tree, origin: string[]): void => {
    const [type, children] = Array.isArray(tree) ? [tree[0], tree[1] ?? {}] : [undefined, tree];
    stack.push({ origin, type, children, keys: Object.keys(children), i: 0 });
  };
  push(values, []);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.i < top.keys.length) {
      const key = top.keys[top.i++]!;
      push(top.children[key]!, [...top.origin, ...parsePath(key)]);
    } else {
      stack.pop();
      if (top.type !== undefined) root = await convertAt(root, top.origin, top.type, slicer);
    }
    if (slicer.spend(1)) await slicer.next();
  }
  return root;
}

/**
 * superjson's setDeep with an annotation's untransform: the value at `path` converted. Its
 * parents are still plain JSON (arrays and objects), since children are converted before their
 * parents. A Map or Set is filled in slices (as `new Map(entries)` would fill it).
 */
async function convertAt(
  root: unknown,
  path: readonly string[],
  type: string,
  slicer: Slicer,
): Promise<unknown> {
  checkPath(path);
  let parent: unknown = null;
  let value = root;
  for (const key of path) {
    if (Array.isArray(value)) [parent, value] = [value, value[+key]];
    else if (isPlain(value)) [parent, value] = [value, value[key]];
    else throw new LeftToSuperjson("a path through a converted value");
  }
  let converted: unknown;
  if (type === "map" || type === "set") {
    if (!Array.isArray(value)) throw new LeftToSuperjson(`a ${type} that is not an array`);
    const c = type === "map" ? new Map() : new Set();
    for (const entry of value) {
      if (c instanceof Set) c.add(entry);
      else if (typeof entry === "object" && entry !== null) c.set(entry[0], entry[1]);
      else throw new LeftToSuperjson("a map entry that is not an array");
      if (slicer.spend(1)) await slicer.next();
    }
    converted = c;
  } else converted = UNTRANSFORM[type]!(value);
  if (path.length === 0) return converted;
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) parent[+last] = converted;
  else (parent as Record<string, unknown>)[last] = converted;
  return root;
}

/** The n-th key of a Map or member of a Set, as superjson's getNthKey. */
function nth(c: Map<unknown, unknown> | Set<unknown>, n: number): unknown {
  if (n > c.size) throw new LeftToSuperjson("index out of bounds");
  const keys = c.keys();
  for (let i = 0; i < n; i++) keys.next();
  return keys.next().value;
}

/** superjson's getDeep. */
function getDeep(root: unknown, path: readonly string[]): unknown {
  checkPath(path);
  let v = root;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    if (v instanceof Set) v = nth(v, +key);
    else if (v instanceof Map) {
      const k = nth(v, +key);
      v = +path[++i]! === 0 ? k : v.get(k);
    } else v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** superjson's setDeep with a constant: the same steps through Maps and Sets, a replaced Set member moving to the end as there. */
function setDeepTo(root: unknown, path: readonly string[], value: unknown): unknown {
  checkPath(path);
  if (path.length === 0) return value;
  let parent = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    if (Array.isArray(parent)) parent = parent[+key];
    else if (isPlain(parent)) parent = parent[key];
    else if (parent instanceof Set) parent = nth(parent, +key);
    else if (parent instanceof Map) {
      if (i === path.length - 2) break;
      const k = nth(parent, +key);
      parent = +path[++i]! === 0 ? k : parent.get(k);
    }
  }
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) parent[+last] = value;
  else if (isPlain(parent)) parent[last] = value;
  if (parent instanceof Set) {
    const old = nth(parent, +last);
    if (old !== value) {
      parent.delete(old);
      parent.add(value);
    }
  }
  if (parent instanceof Map) {
    const k = nth(parent, +path[path.length - 2]!);
    if (+last === 0) {
      parent.set(value, parent.get(k));
      if (value !== k) parent.delete(k);
    } else parent.set(k, value);
  }
  return root;
}

/** superjson's applyReferentialEqualityAnnotations (v1 paths). */
async function applyEqualities(plain: unknown, equalities: unknown, slicer: Slicer): Promise<unknown> {
  let root = plain;
  const apply = async (identical: unknown, at: string): Promise<void> => {
    if (!Array.isArray(identical)) throw new LeftToSuperjson("equalities");
    const object = getDeep(root, parsePath(at));
    for (const p of identical as string[]) {
      root = setDeepTo(root, parsePath(p), object);
      if (slicer.spend(1 + p.length)) await slicer.next();
    }
  };
  const applyAll = async (table: unknown): Promise<void> => {
    if (!isPlain(table)) throw new LeftToSuperjson("equalities");
    for (const at of Object.keys(table)) await apply(table[at], at);
  };
  if (Array.isArray(equalities)) {
    const [rootPaths, other] = equalities as [unknown, unknown];
    if (!Array.isArray(rootPaths)) throw new LeftToSuperjson("equalities");
    for (const p of rootPaths as string[]) root = setDeepTo(root, parsePath(p), root);
    if (other) await applyAll(other);
  } else await applyAll(equalities);
  return root;
}
