/**
 * HTTP suite: autocannon (as a library) against the example shop (express, examples/http/app.ts)
 * and a two-route catalog on fastify and hono, on loopback, with and without leash — the
 * middleware, the Guard over the memory store or a redis-server started here, and a JSONL decision
 * log. The traffic alternates `GET /catalog` (catalog.search) and `POST /cart` (cart.add, which
 * records history) over 64 signed-in sessions.
 *
 * Each server runs in a child process of its own (the bundle users get: tsup, see
 * leash-build.ts); autocannon runs here. Requests per second are measured with 32 connections, the
 * added latency with 1 (at 32 the latency is mostly queueing: connections / rps); each pair of
 * leash and baseline runs alternates, `rounds` times, and the medians are reported. After each
 * leash run the server's request count is compared with the decision lines of its log; a last pass
 * with the OpenTelemetry SDK's in-memory exporter counts the spans. Last, bench/http-costs.ts
 * (bundled, in a child) times the parts of a guarded request in process: the Guard, the HTTP gate,
 * the JSONL log, OpenTelemetry spans and metrics, in CPU time per request.
 *
 *   npx tsx bench/http.ts [--quick]        or   npm run bench -- --suite http
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { EventEmitter } from "node:events";
import autocannon from "autocannon";
import { hasRedis, startRedis, type RedisServer } from "../test/helpers/redis-server.js";
import type { ServerConfig, StopCounts } from "./http-app.js";
import { resultOfChild } from "./child.js";
import type { HttpCostRow } from "./http-costs.js";
import { buildEntries } from "./leash-build.js";

export interface HttpRow {
  suite: "http";
  engine: "leash";
  framework: "express" | "fastify" | "hono";
  app: "shop" | "catalog";
  store: "memory" | "redis";
  connections: number;
  rps: number;
  p99Ms: number;
  baselineRps: number;
  baselineP99Ms: number;
  /** rps / baselineRps (target ≥ 0.9 with the memory store, 32 connections). */
  rpsRatio: number;
  /** p99Ms - baselineP99Ms (target ≤ 0.2 with the memory store, 1 connection). */
  p99AddedMs: number;
  /** The server process's CPU time per request (µs), with leash and without; baseline / leash. A guide when other work shares the cores. */
  serverCpuUs: number;
  baselineServerCpuUs: number;
  cpuRatio: number;
  /** Requests the leash server saw in its last timed run, and the decision lines its log holds. */
  requests: number;
  logLines: number;
  opsPerSec: number;
  agree: boolean;
}

export interface HttpSpanRow {
  suite: "http";
  engine: "leash";
  framework: string;
  store: "memory" | "redis";
  check: "one log line and one span per request";
  requests: number;
  logLines: number;
  spans: number;
  opsPerSec: number;
  agree: boolean;
}

const ROOT = new URL("../", import.meta.url);
const FRAMEWORKS = ["express", "fastify", "hono"] as const;
const SESSIONS = 64;
const POLICY = fileURLToPath(new URL("examples/http.rules", ROOT));

/** bench/http-app.ts and bench/http-costs.ts with what they import, bundled as users get leash (no tsx transform, no keepNames). */
async function bundle(): Promise<{ app: string; costs: string }> {
  if (process.env.LEASH_BENCH_SOURCE === "1") return { app: new URL("http-app.ts", import.meta.url).href, costs: new URL("http-costs.ts", import.meta.url).href };
  const external = ["express", "fastify", "hono", "@hono/node-server", "ioredis", "chevrotain", "@opentelemetry/api", "@opentelemetry/sdk-trace-base", "@opentelemetry/sdk-metrics"];
  const built = await buildEntries({ "http-app": "bench/http-app.ts", "http-costs": "bench/http-costs.ts" }, "leash-bench-http", external);
  return { app: built["http-app"]!, costs: built["http-costs"]! };
}

/** A server child: imports the bundle and serves over IPC (see `serveOverIpc`). */
class ServerChild {
  private readonly child: ChildProcess;
  private constructor(child: ChildProcess) {
    this.child = child;
  }

  static async start(app: string, config: ServerConfig): Promise<{ server: ServerChild; port: number; sessionIds: string[] }> {
    // The bundle runs as it is; src/ (LEASH_BENCH_SOURCE=1) needs this process's TypeScript loader.
    const child = fork(fileURLToPath(app), ["--serve-ipc"], { stdio: ["ignore", "ignore", "inherit", "ipc"], execArgv: app.endsWith(".ts") ? process.execArgv : [] });
    const server = new ServerChild(child);
    const reply = await server.ask<{ port: number; sessionIds: string[]; error?: string }>({ op: "start", config });
    if (reply.error) throw new Error(`bench server: ${reply.error}`);
    return { server, port: reply.port, sessionIds: reply.sessionIds };
  }

  ask<T>(msg: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      this.child.once("message", (m) => resolve(m as T));
      this.child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
      this.child.send(msg as object);
    });
  }

  mark(): Promise<unknown> {
    return this.ask({ op: "mark" });
  }

  async stop(): Promise<StopCounts> {
    const counts = await this.ask<StopCounts>({ op: "stop" });
    if (this.child.exitCode === null) await new Promise((r) => this.child.once("exit", r));
    return counts;
  }
}

interface Load {
  rps: number;
  p99Ms: number;
  completed: number;
  errors: number;
}

/** autocannon against `port`: alternate catalog and cart requests, a session cookie per request. */
async function load(port: number, sessionIds: readonly string[], connections: number, opts: { duration?: number; amount?: number }): Promise<Load> {
  let n = 0;
  const cookie = () => `sid=${sessionIds[n++ % sessionIds.length]}`;
  const latencies: number[] = [];
  const instance = autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    ...(opts.amount !== undefined ? { amount: opts.amount } : { duration: opts.duration! }),
    requests: [
      { method: "GET", path: "/catalog", setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: cookie() } }) },
      { method: "POST", path: "/cart", body: JSON.stringify({ sku: "tea-01" }), setupRequest: (req) => ({ ...req, headers: { ...req.headers, "content-type": "application/json", cookie: cookie() } }) },
    ],
  });
  (instance as unknown as EventEmitter).on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await instance;
  latencies.sort((a, b) => a - b);
  const p99 = latencies.length > 0 ? latencies[Math.min(latencies.length - 1, Math.floor(0.99 * latencies.length))]! : NaN;
  const seconds = (result.duration ?? 1) as number;
  return { rps: latencies.length / seconds, p99Ms: p99, completed: latencies.length, errors: result.errors + result.non2xx + result.timeouts };
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

export async function httpBench(quick = false): Promise<(HttpRow | HttpSpanRow | HttpCostRow)[]> {
  const { app, costs } = await bundle();
  const dir = mkdtempSync(join(tmpdir(), "leash-bench-http-"));
  let redis: RedisServer | null = null;
  const rows: (HttpRow | HttpSpanRow | HttpCostRow)[] = [];
  const duration = quick ? 3 : 8;
  const rounds = quick ? 1 : 3;
  try {
    if (hasRedis) redis = await startRedis();
    const stores: ("memory" | "redis")[] = redis !== null ? ["memory", "redis"] : ["memory"];
    let runId = 0;
    const run = async (framework: (typeof FRAMEWORKS)[number], store: "memory" | "redis" | null, connections: number) => {
      const logPath = join(dir, `run-${++runId}.jsonl`);
      const { server, port, sessionIds } = await ServerChild.start(app, { framework, store, sessions: SESSIONS, logPath, policyFile: POLICY, ...(store === "redis" ? { redisUrl: redis!.url } : {}) });
      try {
        await load(port, sessionIds, connections, { duration: 1 }); // warm-up: JIT, connections, the store's cache
        await server.mark();
        const l = await load(port, sessionIds, connections, { duration });
        const counts = await server.stop();
        return { ...l, counts };
      } catch (e) {
        await server.stop().catch(() => undefined);
        throw e;
      }
    };
    for (const framework of FRAMEWORKS) {
      for (const connections of [32, 1]) {
        for (const store of stores) {
          const base: (Load & { counts: StopCounts })[] = [];
          const guarded: (Load & { counts: StopCounts })[] = [];
          for (let r = 0; r < rounds; r++) {
            base.push(await run(framework, null, connections));
            guarded.push(await run(framework, store, connections));
          }
          const last = guarded.at(-1)!;
          const rps = median(guarded.map((g) => g.rps));
          const baselineRps = median(base.map((b) => b.rps));
          const p99Ms = median(guarded.map((g) => g.p99Ms));
          const baselineP99Ms = median(base.map((b) => b.p99Ms));
          const cpuPerRequest = (xs: readonly { counts: StopCounts }[]) => median(xs.map((x) => x.counts.timedCpuUs / Math.max(1, x.counts.timedRequests)));
          const cpuUs = cpuPerRequest(guarded);
          const baselineCpuUs = cpuPerRequest(base);
          // Every request the server saw is one decision line (warm-up included: same server, same log).
          const agree = guarded.every((g) => g.counts.requests === g.counts.logLines) && guarded.every((g) => g.errors === 0) && base.every((b) => b.errors === 0);
          rows.push({
            suite: "http",
            engine: "leash",
            framework,
            app: framework === "express" ? "shop" : "catalog",
            store,
            connections,
            rps: Math.round(rps),
            p99Ms: round(p99Ms),
            baselineRps: Math.round(baselineRps),
            baselineP99Ms: round(baselineP99Ms),
            rpsRatio: round(rps / baselineRps),
            p99AddedMs: round(p99Ms - baselineP99Ms),
            serverCpuUs: round(cpuUs, 1),
            baselineServerCpuUs: round(baselineCpuUs, 1),
            cpuRatio: round(baselineCpuUs / cpuUs),
            requests: last.counts.requests,
            logLines: last.counts.logLines,
            opsPerSec: Math.round(rps),
            agree,
          });
        }
      }
      for (const store of stores) {
        const logPath = join(dir, `spans-${++runId}.jsonl`);
        const { server, port, sessionIds } = await ServerChild.start(app, { framework, store, sessions: SESSIONS, logPath, policyFile: POLICY, spans: true, ...(store === "redis" ? { redisUrl: redis!.url } : {}) });
        const amount = quick ? 1_000 : 5_000;
        const l = await load(port, sessionIds, 8, { amount });
        const c = await server.stop();
        rows.push({ suite: "http", engine: "leash", framework, store, check: "one log line and one span per request", requests: c.requests, logLines: c.logLines, spans: c.spans, opsPerSec: Math.round(l.rps), agree: c.requests === amount && c.logLines === amount && c.spans === amount && c.failedLines === 0 });
      }
    }
    rows.push(...(await resultOfChild<HttpCostRow[]>(costs, ["--costs", POLICY], "bench/http-costs.ts")));
  } finally {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** The targets of the suite: memory-store rps ratio at 32 connections, p99 added at 1. */
export function httpRatios(rows: readonly (HttpRow | HttpSpanRow | HttpCostRow)[]): { suite: "http"; ratio: string; value: number }[] {
  return rows
    .filter((r): r is HttpRow => "rpsRatio" in r)
    .map((r) =>
      r.connections === 32
        ? { suite: "http" as const, ratio: `${r.framework} ${r.store}: rps / baseline rps, 32 connections (target >= 0.9 memory)`, value: r.rpsRatio }
        : { suite: "http" as const, ratio: `${r.framework} ${r.store}: p99 added (ms), 1 connection (target <= 0.2 memory)`, value: r.p99AddedMs },
    );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const rows = await httpBench(process.argv.includes("--quick"));
  for (const r of rows) console.log(JSON.stringify(r));
  for (const r of httpRatios(rows)) console.log(JSON.stringify(r));
}
