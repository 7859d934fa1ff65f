import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import type { Client } from "../../src/createClient.js";
import { defineMachine } from "../../src/defineMachine.js";
import type { MachineNode } from "../../src/machineNode.js";
import type { CommandOptions, QueryOptions } from "../../src/types.js";

const locks = defineMachine({
  initial: () => ({ locks: new Map<string, { until: Date }>() }),
  commands: {
    acquire: {
      input: z.object({ name: z.string(), ttlMs: z.number(), at: z.coerce.date() }),
      run(s, a, ctx) {
        expectTypeOf(a).toEqualTypeOf<{ name: string; ttlMs: number; at: Date }>();
        expectTypeOf(ctx.index).toEqualTypeOf<number>();
        s.locks.set(a.name, { until: new Date(a.at.getTime() + a.ttlMs) });
        return s.locks.size;
      },
    },
    rename: {
      input: z.string().transform((v) => v.length),
      run: (_s, n) => {
        expectTypeOf(n).toEqualTypeOf<number>();
        return n * 2;
      },
    },
    maybe: { input: z.string().optional(), run: (_s, v) => v ?? "none" },
    plain(s, name: string) {
      s.locks.delete(name);
    },
  },
  queries: {
    until: {
      input: z.string(),
      run: (s, name) => {
        expectTypeOf(name).toEqualTypeOf<string>();
        return s.locks.get(name)?.until;
      },
    },
    top: (s, n = 3) => [...s.locks.keys()].slice(0, n),
    size: (s) => s.locks.size,
  },
});

declare const node: MachineNode<typeof locks>;
declare const client: Client<typeof locks>;

describe("types inferred from input schemas", () => {
  it("the caller passes the schema's input type and gets run's result", () => {
    expectTypeOf(node.commands.acquire)
      .parameter(0)
      .toEqualTypeOf<{ name: string; ttlMs: number; at: Date }>();
    expectTypeOf(node.commands.acquire).returns.resolves.toEqualTypeOf<number>();
    expectTypeOf(node.commands.rename).toEqualTypeOf<
      (arg: string, options?: CommandOptions) => Promise<number>
    >();
    expectTypeOf(node.commands.maybe).toEqualTypeOf<
      (arg?: string | undefined, options?: CommandOptions) => Promise<string>
    >();
    expectTypeOf(node.query.until).toEqualTypeOf<
      (arg: string, options?: QueryOptions) => Promise<Date | undefined>
    >();
    // @ts-expect-error name must be a string
    void node.commands.acquire({ name: 5, ttlMs: 1, at: new Date(0) });
    // @ts-expect-error until needs a string
    void node.query.until(1);
  });

  it("createClient<typeof machine> infers the same calls", () => {
    expectTypeOf(client.commands.acquire).toEqualTypeOf(node.commands.acquire);
    expectTypeOf(client.commands.rename).toEqualTypeOf(node.commands.rename);
    expectTypeOf(client.query.until).toEqualTypeOf(node.query.until);
    expectTypeOf(client.query.top).toEqualTypeOf(node.query.top);
  });

  it("a query with a default parameter takes an optional argument, then options", () => {
    expectTypeOf(node.query.top).toEqualTypeOf<(arg?: number, options?: QueryOptions) => Promise<string[]>>();
    void node.query.top(5, { consistency: "stale" });
    void node.query.size(undefined, { consistency: "lease", timeoutMs: 100 });
    // @ts-expect-error a query without argument takes undefined before its options
    void node.query.size({ consistency: "stale" });
  });

  it("commands take per-call options after the argument, also when they take none", () => {
    void node.commands.plain("x", { timeoutMs: 500 });
    void node.commands.acquire({ name: "x", ttlMs: 1, at: new Date(0) }, { timeoutMs: 500 });
    // @ts-expect-error no such option
    void node.commands.plain("x", { timeout: 500 });
  });

  it("run's argument is checked against the schema's output", () => {
    defineMachine({
      initial: () => ({ n: 0 }),
      commands: {
        // @ts-expect-error the schema's output is a number, not a string
        add: { input: z.number(), run: (s, by: string) => by.length + s.n },
      },
    });
  });
});

describe("reducers the types refuse", () => {
  it("an async reducer, or one that returns a Promise", () => {
    defineMachine({
      initial: () => ({ n: 0 }),
      commands: {
        // @ts-expect-error a reducer must be synchronous
        async load(s) {
          s.n = 1;
        },
        // @ts-expect-error a reducer must be synchronous
        later: (_s, n: number) => Promise.resolve(n),
        // @ts-expect-error a reducer must be synchronous
        schema: { input: z.number(), run: async (_s, n) => n },
        fails: () => {
          throw new Error("a reducer that always throws is fine");
        },
      },
    });
  });

  it("a reducer or query with more parameters than raftkit passes", () => {
    defineMachine({
      initial: () => ({ n: 0 }),
      commands: {
        // @ts-expect-error a command is (draft, arg, ctx)
        add: (s, a: number, b: number) => {
          s.n += a + b;
        },
      },
      queries: {
        // @ts-expect-error a query is (state, arg)
        sum: (s, a: number, b: number) => s.n + a + b,
      },
    });
  });
});
