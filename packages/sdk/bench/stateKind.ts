/** How the bench machine's state holds its values (BENCH_STATE, see benchMachine.ts), for the conditions line. */
export const stateKind = () => (process.env.BENCH_STATE === "map" ? "one Map" : "one SortedMap");
