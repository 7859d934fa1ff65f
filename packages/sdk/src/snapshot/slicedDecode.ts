import { decodeValue } from "../codec.js";
import { MalformedJson, parseJsonSliced } from "./slicedJsonParse.js";
import type { Slicer } from "./slicer.js";
import { stateClassNamed } from "./stateClasses.js";
import { applyEqualities, checkPath, isPlain, LeftToSuperjson } from "./superjsonEqualities.js";
import { type Annotation, type Inner, parsePath, type Tree } from "./superjsonPaths.js";
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

/** The state class an annotation names (["class", identifier] of a registered one), or undefined. */
const classNamedBy = (type: unknown) =>
  Array.isArray(type) && type.length === 2 && type[0] === "class" && typeof type[1] === "string"
    ? stateClassNamed(type[1])
    : undefined;

/** Whether every annotation in `tree` is one this decoder applies. */
function supported(tree: Tree): boolean {
  const stack: Tree[] = [tree];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (Array.isArray(t)) {
      const known =
        typeof t[0] === "string" ? Object.hasOwn(UNTRANSFORM, t[0]) : classNamedBy(t[0]) !== undefined;
      if (!known) return false;
      if (t[1] !== undefined) stack.push(t[1]);
    } else if (isPlain(t)) for (const k of Object.keys(t)) stack.push(t[k]!);
    else return false;
  }
  return true;
}

/**
 * `superjson.parse` of UTF-8 bytes, in slices (see {@link Slicer}): the JSON is read with
 * {@link parseJsonSliced}, then superjson's annotations (Map, Set, Date, BigInt, undefined,
 * non-finite numbers, raftkit's state classes) and its referential equalities are applied as
 * superjson applies them (but see superjsonEqualities.ts for values shared inside a state
 * class's instance), a few at a time. Anything else (other annotations, an older superjson's
 * format, malformed bytes, a path superjson would refuse) is handed to superjson itself, at
 * once, so the result and the errors stay its own; `fallback` is told why. Throws {@link DecodeError} naming `what`.
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
  if (!superjsonIsPristine())
    return atOnce("superjson has registered classes, symbols or transformers of its user");
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
    return (await applyEqualitiesSliced(plain, meta.referentialEqualities, slicer)) as T;
  } catch (e) {
    // A path superjson would also stumble on: decode again from the bytes and let superjson answer.
    return atOnce(`${(e as Error).message}`);
  }
}

/** superjson's applyValueAnnotations: each annotated value is converted after its children. */
async function applyValues(json: unknown, values: Tree, slicer: Slicer): Promise<unknown> {
  let root = json;
  /** A tree node: its children (by path) are visited first, then its own type applied. */
  const stack: {
    origin: string[];
    type: Annotation | undefined;
    children: Inner;
    keys: string[];
    i: number;
  }[] = [];
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
  type: Annotation,
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
  } else if (typeof type === "string") converted = UNTRANSFORM[type]!(value);
  else {
    // superjson's class rule: the fields assigned to an object of the class's prototype, no constructor run.
    const cls = classNamedBy(type);
    if (cls === undefined) throw new LeftToSuperjson(`the annotation ${type.join(" ")}`);
    converted = Object.assign(Object.create(cls.prototype), value);
  }
  if (path.length === 0) return converted;
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) parent[+last] = converted;
  else (parent as Record<string, unknown>)[last] = converted;
  return root;
}

/** superjson's applyReferentialEqualityAnnotations (see superjsonEqualities.ts), in slices. */
async function applyEqualitiesSliced(plain: unknown, equalities: unknown, slicer: Slicer): Promise<unknown> {
  const target = { root: plain };
  for (const units of applyEqualities(target, equalities)) if (slicer.spend(units)) await slicer.next();
  return target.root;
}
