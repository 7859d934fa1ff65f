import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { createClient } from "../src/createClient.js";
import { defineMachine } from "../src/defineMachine.js";
import { ValidationError } from "../src/errors.js";
import { closeAppServers, serveApp } from "./appServers.js";
import { LocalCluster } from "./localCluster.js";

const locks = defineMachine({
  initial: () => ({ locks: {} as Record<string, { expiresAt: number }> }),
  commands: {
    acquire: {
      input: z.object({ name: z.string().min(1), ttlMs: z.number().int().positive() }),
      run(s, a, ctx) {
        s.locks[a.name] = { expiresAt: ctx.time.getTime() + a.ttlMs };
        return s.locks[a.name]!.expiresAt - ctx.time.getTime();
      },
    },
    // The schema's output (a trimmed, lower-cased name) is what gets proposed.
    release: {
      input: z.string().transform((n) => n.trim().toLowerCase()),
      run(s, name) {
        const had = name in s.locks;
        delete s.locks[name];
        return had;
      },
    },
  },
  queries: {
    expiresAt: { input: z.string(), run: (s, name) => s.locks[name]?.expiresAt ?? null },
    count: (s) => Object.keys(s.locks).length,
  },
});

let cluster: LocalCluster<typeof locks> | null = null;
afterEach(async () => {
  await closeAppServers();
  await cluster?.stopAll();
  cluster = null;
});

async function started(): Promise<LocalCluster<typeof locks>> {
  cluster = new LocalCluster(locks);
  return cluster.startReady();
}

describe("commands and queries declared with an input schema", () => {
  it("refuses a bad argument with ValidationError naming each issue's path, and proposes nothing", async () => {
    const c = await started();
    const node = c.leader()!;
    const before = node.status().commit;
    const bad = { name: 5, ttlMs: "10" } as unknown as { name: string; ttlMs: number };
    const err = await node.commands.acquire(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ code: "VALIDATION", kind: "command", operation: "acquire" });
    expect((err as ValidationError).issues.map((i) => i.path)).toEqual([["name"], ["ttlMs"]]);
    expect((err as ValidationError).message).toMatch(/name: .*; ttlMs: /);
    expect(node.status().commit).toBe(before);
    expect(await node.query.count()).toBe(0);
  });

  it("proposes the schema's output, and validates a query's argument", async () => {
    const c = await started();
    const node = c.leader()!;
    expect(await node.commands.acquire({ name: "db", ttlMs: 1_000 })).toBe(1_000);
    expect(await node.commands.release("  DB ")).toBe(true);
    expect(await node.query.count()).toBe(0);
    await expect(node.query.expiresAt(7 as unknown as string)).rejects.toMatchObject({
      name: "ValidationError",
      kind: "query",
      issues: [{ path: [] }],
    });
  });

  it("answers HTTP 400 VALIDATION with the issues, and createClient throws ValidationError", async () => {
    const c = await started();
    const url = `${await serveApp(c.node(c.leader()!.id), {})}/raftkit`;
    const res = await fetch(`${url}/commands/acquire`, {
      method: "POST",
      body: JSON.stringify({ json: { arg: { name: "x", ttlMs: -1 } } }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; issues: { path: unknown[] }[] } };
    expect(body.error.code).toBe("VALIDATION");
    expect(body.error.issues.map((i) => i.path)).toEqual([["ttlMs"]]);

    const client = createClient<typeof locks>({ endpoints: [url] });
    const bad = { name: "", ttlMs: 1 };
    await expect(client.commands.acquire(bad)).rejects.toMatchObject({
      name: "ValidationError",
      operation: "acquire",
      issues: [{ path: ["name"] }],
    });
    expect(await client.commands.acquire({ name: "ok", ttlMs: 5 })).toBe(5);
  });
});
