// A separate process using the cluster:  node dist/client.js <api url> [<api url> …]
import { createClient } from "@raftkit/sdk";
import type { Counter } from "./machine.js";

const endpoints = process.argv.slice(2);
const client = createClient<Counter>({ endpoints, secret: process.env.RAFTKIT_SECRET!, timeoutMs: 20_000 });

const after = await client.commands.add(5); // Promise<number>: resolved once applied, applied once
const value = await client.query.value(); // linearizable: sees every write acknowledged before it
const stale = await client.query.value(undefined, { consistency: "stale" }); // whatever the answering node has
const last = await client.query.last(); // Date | null: superjson keeps the Date

console.log(JSON.stringify({ after, value, stale, last: last?.toISOString() ?? null }));

// Mistakes are compile errors, not runtime surprises:
export function typeErrors(): void {
  // @ts-expect-error add takes a number
  void client.commands.add("5");
  // @ts-expect-error there is no such command
  void client.commands.subtract(1);
}
