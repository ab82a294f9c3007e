import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisStore, type RedisStore } from "../../src/stores/redis/index.js";
import type { PartitionData } from "../../src/stores/store.js";
import { hasRedis, noRedis, startRedis, type RedisServer } from "../helpers/redis-server.js";
import { storeContract } from "./contract.js";

if (!hasRedis) console.warn(`test/stores/redis.test.ts did not run: ${noRedis}`);

const later = (ms = 5_000) => Date.now() + ms;
type Cur = readonly (PartitionData | null)[];

describe.runIf(hasRedis || process.env.CI === "true")("redisStore on a standalone redis-server", () => {
  let server: RedisServer;
  let raw: Redis;
  const stores: RedisStore[] = [];
  let n = 0;
  const store = (o: Parameters<typeof redisStore>[0] = {}) => {
    const s = redisStore({ url: server.url, ...o });
    stores.push(s);
    return s;
  };

  beforeAll(async () => {
    server = await startRedis();
    raw = new Redis(server.url);
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    raw.disconnect();
    await server.stop();
  });

  describe("the Store contract", () => {
    storeContract(() => store(), () => `c${n++}:`);
  });

  it("keeps one Redis key per partition, tagged with the partition key", async () => {
    const s = store({ prefix: "app:" });
    await s.transact(["session:s-1", "principal:agent/bot"], () => ({ writes: [{ a: 1 }, { b: 2 }], result: null }), later());
    expect((await raw.keys("app:*")).sort()).toEqual(["app:{principal:agent/bot}", "app:{session:s-1}"]);
    expect(await raw.get("app:{session:s-1}")).toMatch(/^[A-Za-z0-9_-]+:\{"a":1\}$/);
  });

  it("is exact across holders: increments from two stores over two keys all land", async () => {
    const [a, b] = [store(), store()];
    const keys = ["inc:x", "inc:y"];
    const inc = (cur: Cur) => ({ writes: cur.map((v) => ((v as number | null) ?? 0) + 1), result: null });
    await Promise.all([a, b].flatMap((s) => Array.from({ length: 300 }, () => s.transact(keys, inc, later(20_000)))));
    expect(await a.transact(keys, (c) => ({ writes: [], result: c }), later())).toEqual([600, 600]);
    expect(a.stats.conflicts + b.stats.conflicts).toBeGreaterThan(0);
  });

  it("starves no holder of a hot partition: the one that keeps losing claims its turn", async () => {
    // A scripted competitor wins every race it can: before each commit of the holder under test
    // reaches Redis, the competitor commits a write to the same partition, so the holder's versions
    // are stale every time. Without turns the holder gives up after maxAttempts (R330); with them,
    // after three losses it claims its turn, the competitor's next write waits for it, and the
    // holder commits. The interleaving is forced (each commit waits for the competitor's outcome).
    const competitor = store({ prefix: "hot:" });
    const inc = (cur: Cur) => ({ writes: [((cur[0] as number | null) ?? 0) + 1], result: null });
    await competitor.transact(["session:hot"], inc, later()); // the partition exists, the scripts are loaded
    const client = new Redis(server.url, { maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false });
    const send = client.call.bind(client) as (command: string, args: unknown[]) => Promise<unknown>;
    const competing: Promise<unknown>[] = [];
    let claims = 0;
    (client as unknown as { call: (command: string, args: unknown[]) => Promise<unknown> }).call = async (command, args) => {
      if (command !== "evalsha") return send(command, args);
      // The COMMIT call of one transaction: sha, numkeys, KEYS, channel, writer, partitions, notAfter, mode, claim, ...
      const [, numkeys, ...rest] = args;
      if (rest[(numkeys as number) + 5] !== "") claims++;
      const waits = competitor.stats.lockWaits;
      let won = false;
      const beat = Promise.resolve(competitor.transact(["session:hot"], inc, later(20_000))).then(() => (won = true));
      competing.push(beat);
      // The competitor's write lands first, or is held back by the holder's turn.
      while (!won && competitor.stats.lockWaits === waits) await new Promise((r) => setTimeout(r, 1));
      return send(command, args);
    };
    const holder = redisStore({ client, prefix: "hot:", maxAttempts: 8 });
    stores.push(holder);
    try {
      expect(await holder.transact(["session:hot"], (cur) => ({ writes: [((cur[0] as number | null) ?? 0) + 1000], result: "committed" }), later(20_000))).toBe("committed");
      await Promise.all(competing);
      // Three losses, then the claim: the fourth attempt lost too (and took the turn), the fifth committed.
      expect({ conflicts: holder.stats.conflicts, turns: holder.stats.turns, claims }).toEqual({ conflicts: 4, turns: 1, claims: 2 });
      expect(competitor.stats.lockWaits).toBeGreaterThan(0);
      // Every write landed: the competitor's first, its five during the race, and the holder's.
      expect(await competitor.transact(["session:hot"], (c) => ({ writes: [], result: c }), later())).toEqual([1006]);
      // A turn ends with its claimant's commit: no lock key stays behind.
      expect(await raw.keys("hot:*#l")).toEqual([]);
    } finally {
      client.disconnect();
    }
  });

  it("validates partitions a step only read: a budget over two keys is never overspent", async () => {
    // Each holder writes only "its" key but decides from both: without checking the key it read,
    // the two would overspend the shared budget of 100.
    const [a, b] = [store(), store()];
    const keys = ["budget:a", "budget:b"];
    const spend = (mine: 0 | 1) => (cur: Cur) => {
      const used = ((cur[0] as number | null) ?? 0) + ((cur[1] as number | null) ?? 0);
      if (used >= 100) return { writes: [], result: false };
      const writes: (number | undefined)[] = [undefined, undefined];
      writes[mine] = ((cur[mine] as number | null) ?? 0) + 1;
      return { writes, result: true };
    };
    const runs = await Promise.all([
      ...Array.from({ length: 150 }, () => a.transact(keys, spend(0), later(20_000))),
      ...Array.from({ length: 150 }, () => b.transact(keys, spend(1), later(20_000))),
    ]);
    expect(runs.filter(Boolean)).toHaveLength(100);
    const [x, y] = (await a.transact(keys, (c) => ({ writes: [], result: c }), later())) as number[];
    expect(x! + y!).toBe(100);
  });

  it("gives a value it cannot decode to the step as the raw text, and one of another type as a description", async () => {
    const s = store({ prefix: "raw:" });
    await raw.set("raw:{p1}", "not a partition");
    await raw.set("raw:{p2}", "v1:{broken json");
    await raw.hset("raw:{p3}", "f", "1");
    const seen = await s.transact(["p1", "p2", "p3"], (c) => ({ writes: [], result: c }), later());
    expect(seen).toEqual(["not a partition", "v1:{broken json", "(a Redis hash, not a partition)"]);
    // Such a partition can still be replaced.
    await s.transact(["p1", "p2", "p3"], () => ({ writes: [1, 2, 3], result: null }), later());
    expect(await s.transact(["p1", "p2", "p3"], (c) => ({ writes: [], result: c }), later())).toEqual([1, 2, 3]);
  });

  it("notices a partition changed behind its cache and runs the step again on the current value", async () => {
    const [a, b] = [store(), store()];
    await a.transact(["cache:k"], () => ({ writes: [1], result: null }), later());
    expect(await a.transact(["cache:k"], (c) => ({ writes: [], result: c[0] }), later())).toBe(1);
    await b.transact(["cache:k"], () => ({ writes: [2], result: null }), later());
    await raw.pexpire("leash:{cache:k}", 1);
    await new Promise((r) => setTimeout(r, 10));
    await b.transact(["cache:k"], () => ({ writes: [3], result: null }), later());
    expect(await a.transact(["cache:k"], (c) => ({ writes: [], result: c[0] }), later())).toBe(3);
  });

  it("tells other holders of changes marked notify, not its own", async () => {
    const [a, b] = [store({ prefix: "n:" }), store({ prefix: "n:" })];
    const heardA: string[] = [];
    const heardB: string[] = [];
    const stopA = a.subscribe((k) => heardA.push(...k));
    const stopB = b.subscribe((k) => heardB.push(...k));
    await new Promise((r) => setTimeout(r, 100));
    await a.transact(["revoked:session:s", "session:s"], () => ({ writes: [{ reason: "x" }, 1], notify: [true, false], result: null }), later());
    for (let i = 0; i < 50 && heardB.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(heardB).toEqual(["revoked:session:s"]);
    expect(heardA).toEqual([]);
    stopA();
    stopB();
  });

  it("reads the server's clock with clock: server", async () => {
    const s = store({ clock: "server" });
    await s.ready();
    const [sec, usec] = (await raw.time()) as unknown as [string, string];
    const server = Number(sec) * 1000 + Number(usec) / 1000;
    expect(Math.abs(s.now() - server)).toBeLessThan(50);
  });

  it("rejects with R314 or R315 within the deadline when nothing listens", async () => {
    const s = redisStore({ url: "redis://127.0.0.1:1" });
    stores.push(s);
    const started = Date.now();
    const e = await Promise.resolve(s.transact(["k"], () => ({ writes: [1], result: null }), later(300))).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: "StoreError" });
    expect(["R314", "R315"]).toContain((e as { code: string }).code);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
