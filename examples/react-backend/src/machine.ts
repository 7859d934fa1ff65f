import { defineMachine } from "@raftkit/sdk";

export const counter = defineMachine({
  initial: () => ({ value: 0 }),
  commands: {
    add(s, by: number) {
      if (!Number.isSafeInteger(by) || Math.abs(by) > 1_000)
        throw new RangeError("add takes a whole number up to 1000");
      s.value += by;
      return s.value;
    },
  },
  queries: { value: (s) => s.value },
});
