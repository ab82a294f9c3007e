import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisStore, type RedisStore } from "../../src/stores/redis/index.js";
import { keySlot } from "../../src/stores/redis/names.js";
import type { PartitionData } from "../../src/stores/store.js";
import { hasRedis, noRedis, startCluster, type RedisCluster } from "../helpers/redis-server.js";
import { storeContract } from "./contract.js";

if (!hasRedis) console.warn(`test/stores/redis-cluster.test.ts did not run: ${noRedis}`);

const later = (ms = 5_000) => Date.now() + ms;
type Cur = readonly (PartitionData | null)[];

describe.runIf(hasRedis || process.env.CI === "true")("redisStore on a local 3-node Redis Cluster", () => {
  let cluster: RedisCluster;
  let raw: Cluster;
  const stores: RedisStore[] = [];
  let n = 0;
  const store = (o: Parameters<typeof redisStore>[0] = {}) => {
    const s = redisStore({ cluster: cluster.urls, ...o });
    stores.push(s);
    return s;
  };

  /** KEYS on every master (a Cluster client sends KEYS to one node only). */
  const keysEverywhere = async (pattern: string) => (await Promise.all(raw.nodes("master").map((m) => m.keys(pattern)))).flat().sort();

  beforeAll(async () => {
    cluster = await startCluster(3);
    raw = new Cluster(cluster.urls.map((u) => ({ host: "127.0.0.1", port: Number(new URL(u).port) })));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    raw.disconnect();
    await cluster.stop();
  });

  describe("the Store contract", () => {
    storeContract(() => store(), () => `c${n++}:`);
  });

  it("spreads the partitions of one transaction over slots and commits them all or none", async () => {
    const [a, b] = [store(), store()];
    const keys = ["session:s-1", "principal:agent/bot", "context.ip:203.0.113.9"];
    expect(new Set(keys.map((k) => keySlot(`leash:{${k}}`))).size).toBe(3);
    const inc = (cur: Cur) => ({ writes: cur.map((v) => ((v as number | null) ?? 0) + 1), result: null });
    await Promise.all([a, b].flatMap((s) => Array.from({ length: 150 }, () => s.transact(keys, inc, later(30_000)))));
    expect(await a.transact(keys, (c) => ({ writes: [], result: c }), later())).toEqual([300, 300, 300]);
    expect(a.stats.crossSlot + b.stats.crossSlot).toBe(301); // the read is a cross-slot transaction too
    // Locks and status keys go just after each commit point; none stays.
    for (let i = 0; i < 100 && (await keysEverywhere("*#[lt]*")).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await keysEverywhere("*#[lt]*")).toEqual([]);
  });

  it("validates partitions a step only read, across slots", async () => {
    const [a, b] = [store(), store()];
    const keys = ["budget:a", "budget:b"];
    expect(keySlot("leash:{budget:a}")).not.toBe(keySlot("leash:{budget:b}"));
    const spend = (mine: 0 | 1) => (cur: Cur) => {
      const used = ((cur[0] as number | null) ?? 0) + ((cur[1] as number | null) ?? 0);
      if (used >= 60) return { writes: [], result: false };
      const writes: (number | undefined)[] = [undefined, undefined];
      writes[mine] = ((cur[mine] as number | null) ?? 0) + 1;
      return { writes, result: true };
    };
    const runs = await Promise.all([
      ...Array.from({ length: 100 }, () => a.transact(keys, spend(0), later(30_000))),
      ...Array.from({ length: 100 }, () => b.transact(keys, spend(1), later(30_000))),
    ]);
    expect(runs.filter(Boolean)).toHaveLength(60);
  });

  it("lets transactions that only read a partition share it across slots, and still lets its writers through", async () => {
    const [a, b] = [store({ prefix: "share:" }), store({ prefix: "share:" })];
    const hot = "principal:agent/hot";
    const seen: number[] = [];
    const reader = (i: number) => (cur: Cur) => (seen.push((cur[1] as number | null) ?? 0), { writes: [i], result: null });
    const bump = (cur: Cur) => ({ writes: [undefined, ((cur[1] as number | null) ?? 0) + 1], result: null });
    const sessions = Array.from({ length: 200 }, (_, i) => `session:r${i}`);
    expect(sessions.some((k) => keySlot(`share:{${k}}`) < keySlot(`share:{${hot}}`))).toBe(true);
    expect(sessions.some((k) => keySlot(`share:{${k}}`) > keySlot(`share:{${hot}}`))).toBe(true);
    await Promise.all([
      ...sessions.map((k, i) => (i % 2 ? a : b).transact([k, hot], reader(i), later(30_000))),
      ...Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).transact([`session:w${i}`, hot], bump, later(30_000))),
    ]);
    expect(await a.transact([hot], (c) => ({ writes: [], result: c[0] }), later())).toBe(40);
    expect(await Promise.all(sessions.map((k) => b.transact([k], (c) => ({ writes: [], result: c[0] }), later())))).toEqual(sessions.map((_, i) => i));
    expect(seen.every((n) => n >= 0 && n <= 40)).toBe(true);
    for (let i = 0; i < 100 && (await keysEverywhere("share:*#l")).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await keysEverywhere("share:*#l")).toEqual([]);
  });

  it("resolves the locks of a holder that died: applied if it committed, dropped if not", async () => {
    const s = store({ prefix: "dead:", lockLeaseMs: 50 });
    // A lock left by a holder that committed (its status key says c) and one by a holder that did not.
    const lock = (key: string, tx: string, value: string) =>
      raw.hset(`dead:{${key}}#l`, { e: "1", t: tx, s: `dead:{${key}}#t:${tx}`, o: "s", v: value, p: "0" });
    await lock("won", "tx1", 'w1:{"from":"committed"}');
    await raw.set("dead:{won}#t:tx1", "c");
    await raw.set("dead:{lost}", 'w0:"before"');
    await lock("lost", "tx2", 'w2:"never committed"');
    expect(await s.transact(["won"], (c) => ({ writes: [], result: c[0] }), later())).toEqual({ from: "committed" });
    expect(await s.transact(["lost"], (c) => ({ writes: [], result: c[0] }), later())).toBe("before");
    expect(await raw.get("dead:{lost}#t:tx2")).toBe("a");
    expect(s.stats.resolved).toBe(2);
  });

  it("lets a writer through a shared lock past its lease only after aborting its reader", async () => {
    const s = store({ prefix: "shared:" });
    // A reader that locked k (shared) and never reached its commit point.
    await raw.set("shared:{k}", 'w0:"old"');
    await raw.hset("shared:{k}#l", "r:tx9", "1|shared:{k}#t:tx9");
    await s.transact(["k"], () => ({ writes: ["new"], result: null }), later());
    expect(await raw.get("shared:{k}#t:tx9")).toBe("a"); // its commit can no longer happen
    expect(await raw.exists("shared:{k}#l")).toBe(0);
    expect(await s.transact(["k"], (c) => ({ writes: [], result: c[0] }), later())).toBe("new");
  });

  it("waits for a live lock and then proceeds on the committed value", async () => {
    const s = store({ prefix: "live:" });
    const [sec] = (await raw.time()) as unknown as [string];
    await raw.hset("live:{k}#l", { e: String(Number(sec) * 1000 + 60_000), t: "tx3", s: "live:{k}#t:tx3", o: "s", v: 'w3:"locked value"', p: "0" });
    // Once the store has met the lock, the holder commits and applies it (as its roll-forward
    // does: the value first, then the lock goes).
    const read = s.transact(["k"], (c) => ({ writes: [], result: c[0] }), later());
    while (s.stats.lockWaits === 0) await new Promise((r) => setTimeout(r, 2));
    await raw.set("live:{k}#t:tx3", "c");
    await raw.set("live:{k}", 'w3:"locked value"');
    await raw.del("live:{k}#l");
    expect(await read).toBe("locked value");
  });

  it("keeps a prefix in one slot with hashTag: prefix (no two-phase commit)", async () => {
    const s = store({ prefix: "one:", hashTag: "prefix" });
    await s.transact(["a", "b", "c"], () => ({ writes: [1, 2, 3], result: null }), later());
    const names = await keysEverywhere("{one:}*");
    expect(names).toEqual(["{one:}d:a", "{one:}d:b", "{one:}d:c"]);
    expect(s.stats.crossSlot).toBe(0);
  });
});
