import superjson from "superjson";
import { hasStateClasses, isStateClassInstance, stateClassNamed } from "./stateClasses.js";
import { parsePath } from "./superjsonPaths.js";

/*
 * superjson's referential equalities (values reached more than once) applied as superjson's
 * applyReferentialEqualityAnnotations applies them (v1 paths), with one deliberate difference:
 * a path may go through an instance of a state class (stateClasses.ts), as through a plain
 * object. superjson's setDeep steps only through plain objects, arrays, Maps and Sets, so it
 * leaves a value shared inside a state class's instance as a separate copy. The copy holds the
 * same data, but the state then encodes without that equality: a replica restored from a
 * snapshot would hash differently from the others and be reported diverged.
 */

/** Something left to superjson (which then gives its own result or error). */
export class LeftToSuperjson extends Error {}

export const isPlain = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === null || (proto === Object.prototype && v !== Object.prototype);
};

export function checkPath(path: readonly string[]): void {
  for (const s of path)
    if (s === "__proto__" || s === "prototype" || s === "constructor") throw new LeftToSuperjson(s);
}

/** The n-th key of a Map or member of a Set, as superjson's getNthKey. */
function nth(c: Map<unknown, unknown> | Set<unknown>, n: number): unknown {
  if (n > c.size) throw new LeftToSuperjson("index out of bounds");
  const keys = c.keys();
  for (let i = 0; i < n; i++) keys.next();
  return keys.next().value;
}

/** An object superjson's setDeep steps into by key: a plain object, or (unlike superjson) a state class's instance. */
const isRecord = (v: unknown): v is Record<string, unknown> => isPlain(v) || isStateClassInstance(v);

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
    else if (isRecord(parent)) parent = parent[key];
    else if (parent instanceof Set) parent = nth(parent, +key);
    else if (parent instanceof Map) {
      if (i === path.length - 2) break;
      const k = nth(parent, +key);
      parent = +path[++i]! === 0 ? k : parent.get(k);
    }
  }
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) parent[+last] = value;
  else if (isRecord(parent)) parent[last] = value;
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

/**
 * superjson's applyReferentialEqualityAnnotations on `target.root` (which it may replace), one
 * path per step: yields the work units of each, so that a caller can pause between them.
 */
export function* applyEqualities(target: { root: unknown }, equalities: unknown): Generator<number> {
  function* apply(identical: unknown, at: string): Generator<number> {
    if (!Array.isArray(identical)) throw new LeftToSuperjson("equalities");
    const object = getDeep(target.root, parsePath(at));
    for (const p of identical as string[]) {
      target.root = setDeepTo(target.root, parsePath(p), object);
      yield 1 + p.length;
    }
  }
  function* applyAll(table: unknown): Generator<number> {
    if (!isPlain(table)) throw new LeftToSuperjson("equalities");
    for (const at of Object.keys(table)) yield* apply(table[at], at);
  }
  if (Array.isArray(equalities)) {
    const [rootPaths, other] = equalities as [unknown, unknown];
    if (!Array.isArray(rootPaths)) throw new LeftToSuperjson("equalities");
    for (const p of rootPaths as string[]) target.root = setDeepTo(target.root, parsePath(p), target.root);
    if (other) yield* applyAll(other);
  } else yield* applyAll(equalities);
}

/** Whether an annotation tree (superjson's meta.values) holds a state class's annotation. */
function holdsStateClass(tree: unknown): boolean {
  const stack = [tree];
  while (stack.length > 0) {
    const t = stack.pop();
    if (Array.isArray(t)) {
      const type = t[0];
      if (Array.isArray(type) && type[0] === "class" && stateClassNamed(type[1]) !== undefined) return true;
      if (t[1] !== undefined) stack.push(t[1]);
    } else if (isPlain(t)) for (const k of Object.keys(t)) stack.push(t[k]);
  }
  return false;
}

/**
 * `superjson.parse(text)`, except that values shared inside state classes' instances stay shared
 * (see above), so that the value encodes again to the same bytes. Throws superjson's errors.
 */
export function parseSuperjson<T>(text: string): T {
  const payload = JSON.parse(text) as Parameters<typeof superjson.deserialize>[0];
  const meta = payload?.meta;
  if (
    meta?.v !== 1 ||
    meta.referentialEqualities === undefined ||
    !hasStateClasses() ||
    !holdsStateClass(meta.values)
  )
    return superjson.deserialize<T>(payload, { inPlace: true });
  const { referentialEqualities, ...rest } = meta;
  const target = { root: superjson.deserialize({ json: payload.json, meta: rest }, { inPlace: true }) };
  try {
    for (const _ of applyEqualities(target, referentialEqualities));
  } catch {
    // Paths superjson stumbles on too: parse again and let superjson answer.
    return superjson.parse<T>(text);
  }
  return target.root as T;
}
