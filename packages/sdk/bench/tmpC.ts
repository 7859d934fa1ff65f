import { freeze } from "immer";
import { type BatchStep, runBatch } from "../src/runBatch.js";
import { SortedMap } from "../src/sortedMap/sortedMap.js";
import { assertChangesEncodable } from "../src/stateChanges.js";

const size = 10000;
for (const kind of ["map", "sorted", "map", "sorted"]) {
  for (const check of [false, true]) {
    const entries = Array.from({ length: size }, (_, i) => [`k${i}`, "v"] as [string, string]);
    let s = freeze(
      { data: kind === "map" ? new Map(entries) : new SortedMap<string, string>(entries) },
      true,
    );
    let n = 0;
    const t = performance.now();
    for (let b = 0; b < 40; b++) {
      const steps: BatchStep[] = Array.from({ length: 256 }, () => ({
        run: (d: any) => {
          d.data.set(`k${(n++ * 7919) % size}`, `x${n}`);
          if (check) assertChangesEncodable(d, "put");
        },
      }));
      s = runBatch(s, steps).state as typeof s;
    }
    console.log(kind, "check", check, ((performance.now() - t) / 40).toFixed(2), "ms per batch of 256");
  }
}
