import { describe, expectTypeOf, it } from "vitest";
import { defineMachine } from "../../src/defineMachine.js";
import type { CommandOptions, Commands, Queries } from "../../src/types.js";

const counter = defineMachine({
  initial: () => ({ n: 0, log: [] as { at: Date; by: number }[], tags: new Set<string>() }),
  commands: {
    add(s, by: number, ctx) {
      s.n += by;
      s.log.push({ at: ctx.time, by });
      return s.n;
    },
    reset(s) {
      s.n = 0;
    },
    tag(s, t?: string) {
      if (t) s.tags.add(t);
      return s.tags.size;
    },
    rename: (_s, arg: { from: string; to: string }) => `${arg.from}->${arg.to}`,
  },
  queries: {
    value: (s) => s.n,
    since: (s, t: Date) => s.log.filter((e) => e.at >= t).length,
    tags: (s) => [...s.tags],
  },
});

type C = Commands<typeof counter>;
type Q = Queries<typeof counter>;
declare const commands: C;
declare const query: Q;

describe("types inferred from defineMachine", () => {
  it("commands take the reducer's argument and resolve with its result", () => {
    expectTypeOf(commands.add).toEqualTypeOf<(arg: number, options?: CommandOptions) => Promise<number>>();
    expectTypeOf(commands.reset).toEqualTypeOf<
      (arg?: undefined, options?: CommandOptions) => Promise<void>
    >();
    expectTypeOf(commands.tag).toEqualTypeOf<(arg?: string, options?: CommandOptions) => Promise<number>>();
    expectTypeOf(commands.rename).parameter(0).toEqualTypeOf<{ from: string; to: string }>();
    expectTypeOf(commands.rename).returns.resolves.toEqualTypeOf<string>();
  });

  it("a wrong argument is a compile error", () => {
    // @ts-expect-error a string is not a number
    void commands.add("5");
    // @ts-expect-error the argument is required
    void commands.add();
    // @ts-expect-error reset takes nothing
    void commands.reset(1);
    // @ts-expect-error timeoutMs is a number
    void commands.add(1, { timeoutMs: "10" });
    // @ts-expect-error no such command
    void commands.nope();
  });

  it("queries take their argument and then options, and are not any", () => {
    expectTypeOf(query.value).returns.resolves.toEqualTypeOf<number>();
    expectTypeOf(query.since).parameter(0).toEqualTypeOf<Date>();
    expectTypeOf(query.tags).returns.resolves.toEqualTypeOf<string[]>();
    void query.value(undefined, { consistency: "stale" });
    void query.since(new Date(), { consistency: "lease" });
    // @ts-expect-error consistency must be one of the three
    void query.value(undefined, { consistency: "eventual" });
    // @ts-expect-error since needs a Date
    void query.since("yesterday");
  });

  it("reducers see an immer draft and the context", () => {
    defineMachine({
      initial: () => ({ items: [] as string[] }),
      commands: {
        push(s, item: string, ctx) {
          expectTypeOf(s.items).toEqualTypeOf<string[]>();
          expectTypeOf(ctx.index).toEqualTypeOf<number>();
          expectTypeOf(ctx.time).toEqualTypeOf<Date>();
          s.items.push(item);
        },
      },
      queries: {
        count(s) {
          // @ts-expect-error query state is read-only
          s.items.push("x");
          return s.items.length;
        },
      },
    });
  });
});
