import { CommandError, createClient, TimeoutError } from "@raftkit/sdk";
import type { queue } from "./queue.js";

const client = createClient<typeof queue>({
  endpoints: ["http://10.0.0.1:7000/raftkit", "http://10.0.0.2:7000/raftkit", "http://10.0.0.3:7000/raftkit"],
  secret: process.env.RAFTKIT_SECRET!,
});

const id = await client.commands.enqueue("resize image 42");
await client.query.size(); // linearizable (default): includes every command acknowledged before the call
await client.query.size(undefined, { consistency: "lease" }); // the leader answers without a quorum round trip
await client.query.job(id, { consistency: "stale" }); // the answering node's state, possibly behind
await client.query.size(undefined, { consistency: "session" }); // any node, once it applied this client's writes

try {
  await client.commands.ack(999);
} catch (e) {
  if (e instanceof CommandError)
    console.log(`${e.errorName}: ${e.message}`); // the reducer threw; nothing changed
  else if (e instanceof TimeoutError) console.log(`gave up; may have been applied: ${e.mayHaveBeenApplied}`);
  else throw e;
}
