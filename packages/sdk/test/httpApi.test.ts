import { StoppedError } from "@raftkit/core";
import { afterEach, describe, expect, it } from "vitest";
import { ApiError, createClient } from "../src/createClient.js";
import { defineMachine } from "../src/defineMachine.js";
import { CommandError, DecodeError, UnknownOperationError } from "../src/errors.js";
import { encodeBody } from "../src/wire.js";
import { closeAppServer, closeAppServers, serveCluster } from "./appServers.js";
import { LocalCluster, waitFor } from "./localCluster.js";

const counter = defineMachine({
  initial: () => ({ n: 0, at: null as Date | null }),
  commands: {
    add(s, by: number, ctx) {
      s.n += by;
      s.at = ctx.time;
      return s.n;
    },
    fail() {
      throw new TypeError("nope");
    },
  },
  queries: { value: (s) => s.n, at: (s) => s.at },
});

const SECRET = "s3cret";
let cluster: LocalCluster<typeof counter> | null = null;

afterEach(async () => {
  await closeAppServers();
  await cluster?.stopAll();
  cluster = null;
});

async function startServed(
  sessionTtlMs?: number,
): Promise<{ endpoints: string[]; c: LocalCluster<typeof counter> }> {
  const c = new LocalCluster(counter, undefined, {}, sessionTtlMs === undefined ? {} : { sessionTtlMs });
  cluster = c;
  await c.startAll();
  const endpoints = await serveCluster(c, { secret: SECRET });
  // Bootstrap entries plus the new leader's empty entry are applied: the cluster is quiet.
  await waitFor(() => (c.leader()?.status().applied ?? 0) >= c.ids.length + 1);
  return { endpoints, c };
}

describe("the app API and createClient", () => {
  it("runs typed commands and queries over HTTP, with superjson values", async () => {
    const { endpoints } = await startServed();
    const client = createClient<typeof counter>({ endpoints: [endpoints[2]!], secret: SECRET });
    expect(await client.commands.add(2)).toBe(2);
    expect(await client.commands.add(3)).toBe(5);
    expect(await client.query.value()).toBe(5);
    expect(await client.query.at()).toBeInstanceOf(Date);
    expect(await client.query.value(undefined, { consistency: "stale" })).toBeTypeOf("number");
  });

  it("serves createClient's session reads on a follower by POST /queries where there is no app stream", async () => {
    const { endpoints, c } = await startServed();
    const follower = c.ids.indexOf([...c.nodes.values()].find((n) => n !== c.leader())!.id);
    const client = createClient<typeof counter>({
      endpoints,
      sessionReadEndpoint: endpoints[follower]!,
      secret: SECRET,
    });
    expect(await client.commands.add(7)).toBe(7);
    const read = await client.withToken.query.value(undefined, { consistency: "session" });
    expect(read.result).toBe(7);
    expect(read.token).toBeGreaterThanOrEqual(client.token);
  });

  it("reports reducer errors, unknown commands and bad secrets with typed errors", async () => {
    const { endpoints } = await startServed();
    const client = createClient<typeof counter>({ endpoints, secret: SECRET });
    await expect(client.commands.fail()).rejects.toMatchObject({
      name: "CommandError",
      errorName: "TypeError",
      message: "nope",
    });
    await expect(client.commands.fail()).rejects.toBeInstanceOf(CommandError);
    const untyped = client.commands as unknown as Record<string, () => Promise<unknown>>;
    await expect(untyped.missing!()).rejects.toBeInstanceOf(UnknownOperationError);
    const wrong = createClient<typeof counter>({ endpoints, secret: "wrong" });
    await expect(wrong.commands.add(1)).rejects.toMatchObject({ name: "ApiError", status: 401 });
    await expect(wrong.query.value()).rejects.toBeInstanceOf(ApiError);
  });

  it("answers a malformed body with 400 and a message, and changes nothing", async () => {
    const { endpoints, c } = await startServed();
    const before = c.leader()!.status().commit;
    const res = await fetch(`${endpoints[0]}/commands/add`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}` },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("DECODE");
    expect(c.leader()!.status().commit).toBe(before);
    expect(DecodeError).toBeDefined();
  });

  it("fails over to another node when the one it talks to stops, applying each command once", async () => {
    const { endpoints, c } = await startServed();
    const client = createClient<typeof counter>({ endpoints, secret: SECRET, requestTimeoutMs: 1_000 });
    await client.commands.add(1);
    const leader = c.leader()!;
    await closeAppServer(endpoints[c.ids.indexOf(leader.id)]!);
    await leader.stop();
    for (let i = 0; i < 5; i++) await client.commands.add(1);
    expect(await client.query.value()).toBe(6);
  });

  it("moves a client to a new session once its session expired, and refuses a retry of the old one with 410 SESSION_EXPIRED", async () => {
    const { endpoints } = await startServed(300);
    const client = createClient<typeof counter>({ endpoints, secret: SECRET });
    expect(await client.commands.add(1)).toBe(1);
    const expired = client.session;
    const t0 = Date.now();
    await waitFor(() => Date.now() > t0 + 800);
    // Another client's command sweeps the idle session.
    const other = createClient<typeof counter>({ endpoints, secret: SECRET });
    expect(await other.commands.add(10)).toBe(11);
    expect(await client.commands.add(100)).toBe(111);
    expect(client.session).not.toBe(expired);
    const retry = await fetch(`${endpoints[0]}/commands/add`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}` },
      body: encodeBody({ arg: 1, session: expired, seq: 1, lowest: 1 }),
    });
    expect(retry.status).toBe(410);
    expect(((await retry.json()) as { error: { code: string } }).error.code).toBe("SESSION_EXPIRED");
    expect(await client.query.value()).toBe(111);
  });

  it("a stopped node answers /status with 503 and stopped, and a client passes it by", async () => {
    const { endpoints, c } = await startServed();
    const leader = c.leader()!;
    const stoppedApi = endpoints[c.ids.indexOf(leader.id)]!;
    // Its HTTP server keeps running: only the node stopped.
    await leader.stop();
    const res = await fetch(`${stoppedApi}/status`, { headers: { authorization: `Bearer ${SECRET}` } });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      id: leader.id,
      stopped: true,
      stoppedReason: expect.stringMatching(/stop\(\)/),
      role: "follower",
      leader: null,
      leaderUrl: null,
    });
    const client = createClient<typeof counter>({
      endpoints: [stoppedApi, ...endpoints.filter((e) => e !== stoppedApi)],
      secret: SECRET,
      requestTimeoutMs: 1_000,
    });
    expect(await client.commands.add(2)).toBe(2);
    expect(await client.query.value()).toBe(2);
  });

  it("every command and query consistency on a stopped node rejects with StoppedError naming the node and why", async () => {
    const { endpoints, c } = await startServed();
    const follower = c.ids.map((id) => c.node(id)).find((n) => n !== c.leader())!;
    await follower.stop();
    const reason = new RegExp(`^node ${follower.id} stopped before .*: stopped by a stop\\(\\) call$`);
    for (const consistency of ["stale", "lease", "linearizable"] as const) {
      const err = await follower.query.value(undefined, { consistency }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoppedError);
      expect((err as StoppedError).message).toMatch(reason);
    }
    await expect(follower.commands.add(1)).rejects.toBeInstanceOf(StoppedError);
    // Over HTTP: the same error, as code STOPPED.
    const res = await fetch(`${endpoints[c.ids.indexOf(follower.id)]}/queries/value`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}` },
      body: JSON.stringify({ json: { args: [null, { consistency: "stale" }] } }),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: "STOPPED",
      message: expect.stringMatching(reason),
    });
  });

  it("streams status and commits as server-sent events", async () => {
    const { endpoints } = await startServed();
    const client = createClient<typeof counter>({ endpoints, secret: SECRET });
    const commits: number[] = [];
    let leader: string | null = null;
    const sub1 = client.commits$.subscribe((e) => commits.push(e.result as number));
    const sub2 = client.leader$.subscribe((l) => {
      leader = l;
    });
    await waitFor(() => leader !== null);
    await client.commands.add(7);
    await waitFor(() => commits.includes(7));
    sub1.unsubscribe();
    sub2.unsubscribe();
  });
});
