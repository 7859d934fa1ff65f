/**
 * `pnpm bench stop`: the client-visible stall when the leader is stopped with `stop()`
 * (see stopStall.ts). Env: BENCH_ROUNDS (default 5).
 */
import { measureStopStall } from "./stopStall.js";

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
console.log("round  follower stall ms  client stall ms  stop() ms  commands  failures");
for (let r = 1; r <= rounds; r++) {
  const x = await measureStopStall();
  console.log(
    `${String(r).padStart(5)}  ${String(x.followerStallMs).padStart(17)}  ${String(x.clientStallMs).padStart(15)}  ${String(x.stopMs).padStart(9)}  ${String(x.commands).padStart(8)}  ${String(x.failures).padStart(8)}`,
  );
}
