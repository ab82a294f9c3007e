/**
 * Guard suite, Redis rows: the Guard over `redisStore` on a standalone redis-server and on a local
 * 3-node Cluster, beside `redis-baseline` — one raw script round trip per request (EVALSHA of a
 * GET and a SET on the request's session key, same client settings) at the same concurrency: the
 * ceiling for any Redis-backed check. The sequence suite's 50 rules over 1,000 session keys.
 *
 * The servers are started here on loopback ports (test/helpers/redis-server.ts) and stopped at
 * the end. leash and leash/redis are the tsup bundles users get (see leash-build.ts). Run alone:
 * `npx tsx bench/guard-redis.ts [--quick]`, or in `npm run bench` (suite `guard`).
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import type { Guard, GuardOptions, Policy } from "../src/index.js";
import type { RedisStore, RedisStoreOptions } from "../src/stores/redis/index.js";
import { hasRedis, startCluster, startRedis } from "../test/helpers/redis-server.js";
import { resultOfChild } from "./child.js";
import { leashModuleUrl } from "./leash-build.js";
import { sequencePolicySource } from "./sequence.js";

export interface GuardRedisRow {
  suite: "guard";
  engine: "leash";
  store: "redis" | "redis-cluster" | "redis-baseline";
  rules: number;
  keys: number;
  concurrency: number;
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
  /** Decisions (or baseline round trips) in the timed run. */
  ops: number;
}

interface Leash {
  compilePolicyOrThrow(source: string, options?: { file?: string }): Policy;
  createGuard(options: GuardOptions): Guard;
}

const KEYS = 1000;
const RULES = 50;
const ACTIONS = 10;
const START = Date.UTC(2026, 10, 1);
const ROOT = new URL("../", import.meta.url);

/** leash/redis as the bundle users get (ioredis stays external, as in the package). */
async function redisModule(): Promise<{ redisStore(options: RedisStoreOptions): RedisStore }> {
  if (process.env.LEASH_BENCH_SOURCE === "1") return import("../src/stores/redis/index.js");
  const { build } = await import("tsup");
  const outDir = fileURLToPath(new URL("node_modules/.cache/leash-bench-redis/", ROOT));
  await build({
    entry: { redis: fileURLToPath(new URL("src/stores/redis/index.ts", ROOT)) },
    format: ["esm"],
    outDir,
    target: "node20",
    platform: "node",
    external: ["ioredis"],
    splitting: false,
    sourcemap: false,
    dts: false,
    clean: true,
    silent: true,
    config: false,
  });
  return import(pathToFileURL(`${outDir}redis.js`).href);
}

function requests(n: number): { session: string; action: string; time: number }[] {
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const out = [];
  let time = START;
  for (let i = 0; i < n; i++) {
    time += Math.floor(rand() * 6);
    out.push({ session: `s${Math.floor(rand() * KEYS)}`, action: `op${Math.floor(rand() * ACTIONS)}.run`, time });
  }
  return out;
}

/** Runs `op(i)` for i in [0, n) with `concurrency` callers; latencies in µs and the wall time. */
async function drive(n: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<{ ms: number; lat: Float64Array }> {
  const lat = new Float64Array(n);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) {
        const s = performance.now();
        await op(i);
        lat[i] = (performance.now() - s) * 1000;
      }
    }),
  );
  return { ms: performance.now() - t0, lat };
}

function row(store: GuardRedisRow["store"], concurrency: number, r: { ms: number; lat: Float64Array }): GuardRedisRow {
  const sorted = Float64Array.from(r.lat).sort();
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
  return { suite: "guard", engine: "leash", store, rules: RULES, keys: KEYS, concurrency, opsPerSec: Math.round((r.lat.length / r.ms) * 1000), p50Us: at(0.5), p99Us: at(0.99), ops: r.lat.length };
}

const BASELINE_LUA = "local v = redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], ARGV[1]) return v";

/** The suite's rows; `quick` shortens the timed runs. */
export async function guardRedisBench(quick = false): Promise<GuardRedisRow[]> {
  if (!hasRedis) throw new Error("the Redis rows need redis-server and redis-cli (apt-get install -y redis-server)");
  const leash = (await import(await leashModuleUrl())) as Leash;
  const { redisStore } = await redisModule();
  const policy = leash.compilePolicyOrThrow(sequencePolicySource(), { file: "bench-sequence.rules" });
  const principal = { kind: "agent", id: "bench" };
  const server = await startRedis();
  const cluster = await startCluster(3);
  const rows: GuardRedisRow[] = [];
  try {
    const sizes = (c: number) => (quick ? (c === 1 ? 2_000 : 10_000) : c === 1 ? 8_000 : 40_000);
    for (const concurrency of [1, 64]) {
      const n = sizes(concurrency);
      const reqs = requests(n + KEYS * 2);
      // Baseline: one EVALSHA per request on the standalone server, same client settings as the store's.
      const raw = new Redis(server.url, { enableAutoPipelining: false, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false });
      const sha = (await raw.script("LOAD", BASELINE_LUA)) as string;
      const base = (i: number) => raw.evalsha(sha, 1, `bench:{session:${reqs[i]!.session}}`, String(reqs[i]!.time));
      await drive(KEYS * 2, concurrency, base);
      rows.push(row("redis-baseline", concurrency, await drive(n, concurrency, (i) => base(i + KEYS * 2))));
      raw.disconnect();

      for (const [kind, options] of [
        ["redis", { url: server.url }],
        ["redis-cluster", { cluster: cluster.urls }],
      ] as const) {
        const store = redisStore({ ...options, prefix: `bench-${concurrency}:` });
        await store.ready();
        const guard = leash.createGuard({ policy, store, timeoutMs: 5_000 });
        const decide = (i: number) => guard.decide({ principal, action: reqs[i]!.action, session: reqs[i]!.session, time: reqs[i]!.time });
        // Warm-up: every session once (the store's cache and the JIT), then the timed run.
        await drive(KEYS * 2, concurrency, decide);
        rows.push(row(kind, concurrency, await drive(n, concurrency, (i) => decide(i + KEYS * 2))));
        await guard.close();
      }
    }
  } finally {
    await Promise.all([server.stop(), cluster.stop()]);
  }
  return rows;
}

/** The ratios the issue sets targets for: store / baseline at the same concurrency. */
export function guardRedisRatios(rows: readonly GuardRedisRow[]): { suite: "guard"; ratio: string; value: number }[] {
  const out = [];
  for (const c of [1, 64]) {
    const base = rows.find((r) => r.store === "redis-baseline" && r.concurrency === c);
    for (const store of ["redis", "redis-cluster"] as const) {
      const r = rows.find((x) => x.store === store && x.concurrency === c);
      if (base && r) out.push({ suite: "guard" as const, ratio: `${store} / redis-baseline, concurrency ${c}`, value: r.opsPerSec / base.opsPerSec });
    }
  }
  return out;
}

/** The suite in a child process of its own, as the other suites run. */
export function guardRedisBenchInChild(quick = false): Promise<GuardRedisRow[]> {
  return resultOfChild<GuardRedisRow[]>(import.meta.url, ["--child", ...(quick ? ["--quick"] : [])], "guard suite (redis)");
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv.includes("--child")) {
  process.send!(await guardRedisBench(process.argv.includes("--quick")));
  process.disconnect();
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await guardRedisBench(process.argv.includes("--quick"));
  for (const r of rows) console.log(JSON.stringify(r));
  for (const r of guardRedisRatios(rows)) console.log(JSON.stringify(r));
}
