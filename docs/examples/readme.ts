import { createClient, defineMachine, startNode } from "@raftkit/sdk";

const counter = defineMachine({
  initial: () => ({ n: 0 }),
  commands: {
    add: (s, by: number) => {
      s.n += by; // s is an immer draft
      return s.n;
    },
  },
  queries: { value: (s) => s.n },
});

const secret = process.env.RAFTKIT_SECRET!; // the same long random string on every node
const node = await startNode({
  machine: counter,
  id: "n1", // n2 and n3 run the same code with their own id and dataDir
  dataDir: "./data/n1",
  secret,
  peers: { n1: "http://10.0.0.1:7000", n2: "http://10.0.0.2:7000", n3: "http://10.0.0.3:7000" },
  listen: { port: 7000, host: "0.0.0.0" }, // or app: yourExpressApp
});
await node.commands.add(5); // Promise<number>, once applied; add("5") does not compile
await node.query.value(); // linearizable (ReadIndex)
await node.query.value(undefined, { consistency: "stale" }); // or "lease"
node.leader$.subscribe((l) => console.log("leader", l)); // RxJS: leader$, role$, term$, commits$, state$, status$

// From another process: import the machine's *type* only.
const client = createClient<typeof counter>({ endpoints: ["http://10.0.0.1:7000/raftkit"], secret });
await client.commands.add(1); // finds the leader, retries through failover, applied once
