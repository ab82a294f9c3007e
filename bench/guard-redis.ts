/**
 * Guard suite, Redis rows: the Guard over `redisStore` on a standalone redis-server and on a local
 * 3-node Cluster, beside `redis-baseline` — one raw script round trip per request (EVALSHA of a
 * GET and a SET on the request's session key, one command per request on a plain ioredis client)
 * at the same concurrency: the ceiling for any Redis-backed check that sends a command per
 * request. The sequence suite's 50 rules over 1,000 session keys, on the sequence suite's trace.
 * Besides the rates, each row gives the CPU time per decision of this process and of the Redis
 * servers, the steadier figures on a shared machine.
 *
 * The servers are started here on loopback ports (test/helpers/redis-server.ts) and stopped at
 * the end. leash and leash/redis are the tsup bundles users get (see leash-build.ts). Run alone:
 * `npx tsx bench/guard-redis.ts [--quick]`, or in `npm run bench` (suite `guard`).
 */
import { Redis } from "ioredis";
import type { Guard, GuardOptions, Policy } from "../src/index.js";
import type { RedisStore, RedisStoreOptions } from "../src/stores/redis/index.js";
import { hasRedis, startCluster, startRedis } from "../test/helpers/redis-server.js";
import { buildEntries, leashModuleUrl } from "./leash-build.js";
import { median } from "./measure.js";
import { sequencePolicySource } from "./sequence.js";
import type { GuardRow } from "./guard.js";
import { childSuite, drive, percentiles, ratio, sessionTrace, type Driven } from "./suite.js";

/** The stores of the Redis rows. */
type RedisRowStore = "redis" | "redis-cluster" | "redis-baseline";

interface Leash {
  compilePolicyOrThrow(source: string, options?: { file?: string }): Policy;
  createGuard(options: GuardOptions): Guard;
}

const KEYS = 1000;
const RULES = 50;
const ACTIONS = 10;
const actionNames = Array.from({ length: ACTIONS }, (_, i) => `op${i}.run`);

/** leash/redis as the bundle users get (ioredis stays external, as in the package). */
async function redisModule(): Promise<{ redisStore(options: RedisStoreOptions): RedisStore }> {
  if (process.env.LEASH_BENCH_SOURCE === "1") return import("../src/stores/redis/index.js");
  const { redis } = await buildEntries({ redis: "src/stores/redis/index.ts" }, "leash-bench-redis", ["ioredis"]);
  return import(redis!);
}

/** CPU seconds the servers behind `urls` have used so far (INFO cpu, user and system). */
async function serverCpu(admins: readonly Redis[]): Promise<number> {
  let total = 0;
  for (const a of admins) {
    const info = await a.info("cpu");
    for (const field of ["used_cpu_user", "used_cpu_sys"]) total += Number(new RegExp(`^${field}:([0-9.]+)`, "m").exec(info)?.[1] ?? NaN);
  }
  return total;
}

/** One timed round: the client's run and the servers' CPU seconds meanwhile. */
async function timed(admins: readonly Redis[], n: number, concurrency: number, op: (i: number) => unknown): Promise<Driven & { serverMs: number }> {
  const s0 = await serverCpu(admins);
  const d = await drive(n, concurrency, op, true);
  return { ...d, serverMs: ((await serverCpu(admins)) - s0) * 1000 };
}

function row(store: RedisRowStore, concurrency: number, rounds: readonly (Driven & { serverMs: number })[]): GuardRow {
  const lat = new Float64Array(rounds.reduce((k, r) => k + r.lat!.length, 0));
  let at = 0;
  for (const r of rounds) (lat.set(r.lat!, at), (at += r.lat!.length));
  const perOp = (f: (r: Driven & { serverMs: number }) => number) => Math.round(median(rounds.map((r) => (f(r) * 1000) / r.lat!.length)) * 10) / 10;
  return {
    suite: "guard",
    engine: "leash",
    store,
    rules: RULES,
    keys: KEYS,
    concurrency,
    opsPerSec: Math.round(median(rounds.map((r) => (r.lat!.length / r.ms) * 1000))),
    opsPerCpuSec: Math.round(median(rounds.map((r) => (r.lat!.length / Math.max(r.cpuMs, 1e-3)) * 1000))),
    ...percentiles(lat),
    clientCpuUsPerOp: perOp((r) => r.cpuMs),
    serverCpuUsPerOp: perOp((r) => r.serverMs),
    ops: lat.length,
  };
}

const BASELINE_LUA = "local v = redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], ARGV[1]) return v";

/**
 * The suite's rows; `quick` shortens the timed runs. Each configuration (baseline, standalone,
 * Cluster) is timed in rounds taken in turn, so that load on a shared machine falls on all alike.
 */
export async function guardRedisBench(quick = false): Promise<GuardRow[]> {
  if (!hasRedis) throw new Error("the Redis rows need redis-server and redis-cli (apt-get install -y redis-server)");
  const leash = (await import(await leashModuleUrl())) as Leash;
  const { redisStore } = await redisModule();
  const policy = leash.compilePolicyOrThrow(sequencePolicySource(), { file: "bench-sequence.rules" });
  const principal = { kind: "agent", id: "bench" };
  const server = await startRedis();
  const cluster = await startCluster(3);
  const admins = { redis: [new Redis(server.url)], cluster: cluster.urls.map((u) => new Redis(u)) };
  const rows: GuardRow[] = [];
  const rounds = quick ? 1 : 3;
  try {
    const sizes = (c: number) => (quick ? (c === 1 ? 2_000 : 10_000) : c === 1 ? 8_000 : 40_000);
    for (const concurrency of [1, 64]) {
      const n = sizes(concurrency);
      const warm = KEYS * 2;
      const reqs = sessionTrace(warm + n * rounds, KEYS, ACTIONS);
      // Baseline: one EVALSHA per request on the standalone server (a plain ioredis client: no auto-pipelining).
      const raw = new Redis(server.url, { enableAutoPipelining: false, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false });
      const sha = (await raw.script("LOAD", BASELINE_LUA)) as string;
      const base = (i: number) => raw.evalsha(sha, 1, `bench:{session:${reqs[i]!.session}}`, String(reqs[i]!.time));
      const configs = [
        { kind: "redis-baseline" as const, admins: admins.redis, op: base, close: async () => raw.disconnect() },
        ...(await Promise.all(
          ([
            ["redis", admins.redis, { url: server.url }],
            ["redis-cluster", admins.cluster, { cluster: cluster.urls }],
          ] as const).map(async ([kind, a, options]) => {
            const store = redisStore({ ...options, prefix: `bench-${concurrency}:` });
            await store.ready();
            const guard = leash.createGuard({ policy, store, timeoutMs: 5_000 });
            const op = (i: number) => guard.decide({ principal, action: actionNames[reqs[i]!.action]!, session: reqs[i]!.session, time: reqs[i]!.time });
            return { kind, admins: a, op, close: () => guard.close() };
          }),
        )),
      ];
      // Warm-up: every session once (the store's cache and the JIT), then the timed rounds in turn.
      for (const c of configs) await drive(warm, concurrency, c.op);
      const got = configs.map(() => [] as (Driven & { serverMs: number })[]);
      for (let r = 0; r < rounds; r++) {
        for (const [k, c] of configs.entries()) {
          const from = warm + r * n;
          got[k]!.push(await timed(c.admins, n, concurrency, (i) => c.op(from + i)));
        }
      }
      for (const [k, c] of configs.entries()) {
        rows.push(row(c.kind, concurrency, got[k]!));
        await c.close();
      }
    }
  } finally {
    for (const a of [...admins.redis, ...admins.cluster]) a.disconnect();
    await Promise.all([server.stop(), cluster.stop()]);
  }
  return rows;
}

/**
 * The ratios the issue sets targets for: store / baseline at the same concurrency, by wall-clock
 * rate, and by CPU time: the rate each would reach with a core to itself for the client and one for
 * Redis (1 / the larger of the two CPU times per decision), steadier on a shared machine.
 */
export function guardRedisRatios(rows: readonly GuardRow[]): { suite: "guard"; ratio: string; value: number }[] {
  const out = [];
  const ceiling = (r: GuardRow) => 1 / Math.max(r.clientCpuUsPerOp ?? NaN, r.serverCpuUsPerOp ?? NaN);
  for (const c of [1, 64]) {
    const base = rows.find((r) => r.store === "redis-baseline" && r.concurrency === c);
    for (const store of ["redis", "redis-cluster"] as const) {
      const r = rows.find((x) => x.store === store && x.concurrency === c);
      if (base === undefined || r === undefined) continue;
      out.push({ suite: "guard" as const, ratio: `${store} / redis-baseline, concurrency ${c}`, value: ratio(r.opsPerSec, base.opsPerSec) });
      out.push({ suite: "guard" as const, ratio: `${store} / redis-baseline, concurrency ${c} (CPU-time ceiling)`, value: ratio(ceiling(r), ceiling(base)) });
    }
  }
  return out;
}

/** The suite in a child process of its own, as the other suites run. */
export const guardRedisBenchInChild = childSuite(import.meta.url, "guard suite (redis)", guardRedisBench, guardRedisRatios);
