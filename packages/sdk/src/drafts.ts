import { enableMapSet, Immer } from "immer";

// Reducers change Maps and Sets through drafts too.
enableMapSet();

/**
 * The immer that runs reducers and migrations. Its finalize lists the keys of every object a
 * batch changed; strict iteration (immer's default) lists symbol and non-enumerable keys too,
 * with `Reflect.ownKeys`, about twice as slow as `Object.keys` on a large object: on one object of
 * 87,000 keys, a sixth of each batch. A state holds neither: a reducer that adds a symbol key
 * fails (stateChanges.ts), immer refuses `defineProperty` on a draft, and snapshots (superjson)
 * keep only enumerable string keys. Auto-freeze stays on: queries must not change the state.
 */
export const drafts = new Immer({ useStrictIteration: false });
