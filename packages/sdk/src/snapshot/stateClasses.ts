import { isDraftable } from "immer";
import superjson from "superjson";

/*
 * raftkit's own state classes (SortedMap): classes whose instances may sit in a machine's state.
 * superjson writes such an instance as an object of its own enumerable properties with the
 * annotation ["class", identifier], and rebuilds it with Object.assign(Object.create(proto), fields).
 * Everything that inspects state values (the sliced snapshot codec, the reducer checks, the
 * encodability check) asks this registry, and treats an instance's own properties as a plain
 * object's. A user's own superjson registrations are not state classes: they still send
 * snapshots to superjson (see superjsonIsPristine).
 */

// biome-ignore lint/suspicious/noExplicitAny: a class of any constructor signature
type StateClass = new (...args: any[]) => object;

const identifierOf = new Map<unknown, string>();
const classNamed = new Map<string, StateClass>();
/** State classes whose writers tell the reducer check what values they store (see stateChanges.ts). */
const reporting = new Set<unknown>();

/** Constructors whose instances superjson or raftkit's walks treat specially: never state classes. */
const BUILT_IN: readonly unknown[] = [
  Object,
  Array,
  Map,
  Set,
  Date,
  RegExp,
  Error,
  URL,
  Promise,
  String,
  Number,
  Boolean,
  BigInt,
  Symbol,
  Function,
];

/**
 * Registers `cls` with superjson's default instance under `identifier`, and as a state class.
 * Its instances must keep their data in own enumerable properties holding state values, with
 * methods on the prototype, and be draftable by immer through the prototype or the class
 * (`static [immerable] = true`, not an instance field: superjson rebuilds instances without
 * running the constructor). Registering the same class under the same identifier again does
 * nothing; anything else that clashes throws. `reportsValues`: its writers call
 * `noteTreeValue` for every value they store, so the check after a reducer leaves the drafts
 * below an instance (its own bookkeeping) unscanned.
 */
export function registerStateClass(
  cls: StateClass,
  identifier: string,
  options: { reportsValues?: boolean } = {},
): void {
  const known = identifierOf.get(cls);
  if (known === identifier) return;
  const name = cls.name || "a class";
  if (known !== undefined)
    throw new Error(
      `raftkit: the state class ${name} is already registered as "${known}", not "${identifier}"`,
    );
  if (classNamed.has(identifier))
    throw new Error(`raftkit: the state class identifier "${identifier}" already names another class`);
  if (BUILT_IN.includes(cls)) throw new Error(`raftkit: ${name} is built in, not a state class`);
  const proto = cls.prototype as object | undefined;
  if (typeof proto !== "object" || proto === null || Object.getPrototypeOf(proto) !== Object.prototype)
    throw new Error(
      `raftkit: the state class ${name} must extend nothing (superjson writes it as a plain object)`,
    );
  if (!isDraftable(Object.create(proto)))
    throw new Error(
      `raftkit: instances of the state class ${name} must be draftable by immer without running its constructor: ` +
        "mark the class (static [immerable] = true) or its prototype, not each instance",
    );
  superjson.registerClass(cls, { identifier });
  identifierOf.set(cls, identifier);
  classNamed.set(identifier, cls);
  if (options.reportsValues) reporting.add(cls);
}

/** Whether `v` is an instance of a state class registered with `reportsValues`. */
export const reportsValues = (v: unknown): boolean =>
  typeof v === "object" && v !== null && reporting.has((v as { constructor?: unknown }).constructor);

/**
 * The identifier of the state class `v` is an instance of, as superjson finds it (by
 * `v.constructor`), or undefined when `v` is no state class's instance.
 */
export function stateClassOf(v: object): string | undefined {
  return identifierOf.size === 0 ? undefined : identifierOf.get((v as { constructor?: unknown }).constructor);
}

/** Whether `v` is an instance of a registered state class (its own properties are state values). */
export const isStateClassInstance = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && stateClassOf(v) !== undefined;

/** Whether any state class is registered. */
export const hasStateClasses = (): boolean => classNamed.size > 0;

/** The state class registered under `identifier`, or undefined. */
export const stateClassNamed = (identifier: string): StateClass | undefined => classNamed.get(identifier);

/** Whether superjson's class registry (identifier → class, class → identifier) holds raftkit's state classes and nothing else. */
export function onlyStateClasses(
  byIdentifier: ReadonlyMap<unknown, unknown>,
  byClass: ReadonlyMap<unknown, unknown>,
): boolean {
  if (byIdentifier.size !== classNamed.size || byClass.size !== identifierOf.size) return false;
  for (const [id, cls] of byIdentifier)
    if (typeof id !== "string" || classNamed.get(id) !== cls) return false;
  for (const [cls, id] of byClass) if (identifierOf.get(cls) !== id) return false;
  return true;
}
