/**
 * Holds across instances: a hold in one Guard process turns when another process revokes or
 * signals through the same Redis (standalone and Cluster), within the bound docs/reevaluation.md
 * states, also when the holding process lost its connections to Redis in between.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard, type Guard } from "../../src/guard/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { holdProcess, type HoldProcess } from "../helpers/hold-process.js";
import { hasRedis, noRedis, startCluster, startRedis, type RedisCluster, type RedisServer } from "../helpers/redis-server.js";
import { tcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

if (!hasRedis) console.warn(`test/stores/redis-holds.test.ts did not run: ${noRedis}`);

const POLICY = `actions {
  ticket.read, ticket.draft
}

rule agents-work: allow ticket.* for agent *

rule risk-signal: revoke signal risk.high
  reason "the risk engine reported high risk"
`;

const RUNS = 100;

const request = (session: string) => ({ principal: { kind: "agent", id: "helper" }, action: "ticket.read", session });

function percentiles(ms: number[]): { p50: number; p99: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
  return { p50: round(at(0.5)), p99: round(at(0.99)), max: round(s[s.length - 1]!) };
}
const round = (x: number) => Math.round(x * 100) / 100;

describe.runIf(hasRedis || process.env.CI === "true")("holds across Guard processes on a real redis-server", () => {
  let redis: RedisServer;
  let proxy: TcpProxy;
  let a: Guard;
  let b: HoldProcess;
  const prefix = "leash:holds:";

  beforeAll(async () => {
    redis = await startRedis();
    proxy = await tcpProxy(redis.port);
    // Instance A talks to Redis directly; instance B (another process) through the proxy, so that
    // the test can cut B's connections alone.
    const store = redisStore({ url: redis.url, prefix });
    await store.ready();
    a = createGuard({ policy: compilePolicyOrThrow(POLICY), store, timeoutMs: 2_000 });
    b = await holdProcess({ url: proxy.url, prefix, policy: POLICY });
  }, 60_000);
  afterAll(async () => {
    await b?.stop();
    await a?.close();
    await proxy?.close();
    await redis?.stop();
  });

  it(`turns a hold on B to revoke after a revoke on A (${RUNS} runs)`, async () => {
    const latencies: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const id = `r${i}`;
      expect(await b.hold(id, request(id))).toBe("allow");
      const started = performance.now();
      expect(await a.revoke({ session: id }, "operator ended the session")).toEqual({ key: `session:${id}` });
      const change = await b.change(id, (e) => e.revoked === true, 10_000);
      latencies.push(change.at - started);
      expect(change).toMatchObject({ effect: "deny", cause: "notified", revoked: true, reason: `allow became deny: session:${id} was revoked: operator ended the session` });
    }
    const p = percentiles(latencies);
    console.log(`revoke on A -> hold on B turned (${RUNS} runs, standalone): p50 ${p.p50} ms, p99 ${p.p99} ms, max ${p.max} ms`);
  }, 120_000);

  it("turns a hold on B when a revoke signal is observed on A", async () => {
    expect(await b.hold("sig", request("sig"))).toBe("allow");
    const outcome = await a.observe({ signal: "risk.high", session: "sig" });
    expect(outcome.revoked.map((r) => r.key)).toEqual(["session:sig"]);
    const change = await b.change("sig", (e) => e.revoked === true);
    expect(change.reason).toBe("allow became deny: session:sig was revoked by rule risk-signal: the risk engine reported high risk");
  });

  it(`re-checks every hold on B after its Redis connections were killed and restored (${RUNS} runs): a revoke made meanwhile is not lost`, async () => {
    const latencies: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const id = `k${i}`;
      const quiet = `q${i}`;
      expect(await b.hold(id, request(id))).toBe("allow");
      expect(await b.hold(quiet, request(quiet))).toBe("allow");
      proxy.cut();
      // Published while B cannot hear it.
      await a.revoke({ session: id }, "revoked while B was cut off");
      await new Promise((r) => setTimeout(r, 20));
      const restored = performance.now();
      proxy.restore();
      const change = await b.change(id, (e) => e.revoked === true, 15_000);
      latencies.push(change.at - restored);
      expect(change).toMatchObject({ effect: "deny", cause: "resync", revoked: true, reason: `allow became deny: session:${id} was revoked: revoked while B was cut off` });
    }
    const p = percentiles(latencies);
    console.log(`connection restored -> revoked hold on B turned (${RUNS} runs): p50 ${p.p50} ms, p99 ${p.p99} ms, max ${p.max} ms`);
    // The holds nobody revoked were never reported revoked; a recheck that met the next cut was
    // reported unavailable and, retried a second later, allowed again.
    await new Promise((r) => setTimeout(r, 2_500));
    let unavailable = 0;
    for (let i = 0; i < RUNS; i++) {
      const seen = b.changes(`q${i}`);
      expect(seen.filter((e) => e.revoked)).toEqual([]);
      unavailable += seen.filter((e) => e.unavailable).length;
      if (seen.length > 0) expect(seen[seen.length - 1]!.effect).toBe("allow");
    }
    console.log(`unrevoked holds reported unavailable during a later cut, then allowed again: ${unavailable} times`);
  }, 300_000);
});

describe.runIf(hasRedis || process.env.CI === "true")("holds across Guard processes on a local Redis Cluster", () => {
  let cluster: RedisCluster;
  let a: Guard;
  let b: HoldProcess;
  const prefix = "leash:holds:";

  beforeAll(async () => {
    cluster = await startCluster(3);
    const store = redisStore({ cluster: cluster.urls, prefix });
    await store.ready();
    a = createGuard({ policy: compilePolicyOrThrow(POLICY), store, timeoutMs: 2_000 });
    b = await holdProcess({ cluster: cluster.urls, prefix, policy: POLICY });
  }, 90_000);
  afterAll(async () => {
    await b?.stop();
    await a?.close();
    await cluster?.stop();
  });

  it(`turns a hold on B to revoke after a revoke on A, whichever node holds the session (${RUNS} runs)`, async () => {
    const latencies: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const id = `c${i}`;
      expect(await b.hold(id, request(id))).toBe("allow");
      const started = performance.now();
      await a.revoke({ session: id }, "operator ended the session");
      const change = await b.change(id, (e) => e.revoked === true, 10_000);
      latencies.push(change.at - started);
      expect(change).toMatchObject({ cause: "notified", revoked: true });
    }
    const p = percentiles(latencies);
    console.log(`revoke on A -> hold on B turned (${RUNS} runs, Cluster): p50 ${p.p50} ms, p99 ${p.p99} ms, max ${p.max} ms`);
  }, 120_000);
});
