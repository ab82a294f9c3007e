/**
 * The servers of the http suite, bundled by bench/http.ts (tsup, as users get leash) and started
 * in a child process of their own: the example shop (express) or a two-route catalog on fastify
 * or hono, with or without leash, the Guard over the memory store or Redis, a JSONL decision log,
 * and optionally OpenTelemetry with the SDK's in-memory exporter (the verification pass).
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { serve } from "@hono/node-server";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import Fastify from "fastify";
import { Hono } from "hono";
import { createShop, shopPolicy } from "../examples/http/app.js";
import { decisionOf, fastifyGuard, guardFetch, type HttpGuardOptions, type HttpRequestView } from "../src/adapters/http/index.js";
import { createGuard, type Guard, type Principal } from "../src/index.js";
import { decisionLog, fanOut, jsonlSink, type DecisionLog } from "../src/log/index.js";
import { telemetry } from "../src/log/otel.js";
import { redisStore } from "../src/stores/redis/index.js";

export interface ServerConfig {
  readonly framework: "express" | "fastify" | "hono";
  /** null: no leash at all (the baseline). */
  readonly store: "memory" | "redis" | null;
  readonly redisUrl?: string;
  readonly logPath?: string;
  /** Record spans with the real SDK's in-memory exporter. */
  readonly spans?: boolean;
  /** Sessions to sign in before the load: their ids are the cookies the load sends. */
  readonly sessions: number;
  /** examples/http.rules (the bundle lives elsewhere, so the parent says where). */
  readonly policyFile: string;
}

export interface RunningBenchServer {
  readonly port: number;
  readonly sessionIds: readonly string[];
  /** Starts the timed part: CPU time and requests are counted from here. */
  mark(): void;
  /** Stops the server, flushes the log; what was seen. */
  stop(): Promise<StopCounts>;
}

export interface StopCounts {
  /** Requests the server saw, and decision lines in its log. */
  readonly requests: number;
  readonly logLines: number;
  readonly spans: number;
  /** Lines a sink failed or dropped. */
  readonly failedLines: number;
  /** Requests since `mark`, and the CPU time (user + system, µs) the server process spent on them. */
  readonly timedRequests: number;
  readonly timedCpuUs: number;
}

const ROUTES = { "GET /catalog": "catalog.search", "POST /cart": "cart.add" };
const CATALOG = [
  { sku: "tea-01", name: "Green tea", price: 12 },
  { sku: "mug-02", name: "Mug", price: 9 },
];

export async function startBenchServer(config: ServerConfig): Promise<RunningBenchServer> {
  let guard: Guard | null = null;
  let log: DecisionLog | null = null;
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  const meterProvider = new MeterProvider();
  if (config.store !== null) {
    log = decisionLog({ sinks: [jsonlSink(config.logPath!)], onProblem: (p) => process.stderr.write(`bench http: ${p.sink} ${p.code} ${p.message}\n`) });
    const store = config.store === "redis" ? redisStore({ url: config.redisUrl!, prefix: `bench-http-${randomUUID().slice(0, 8)}:` }) : undefined;
    if (store !== undefined) await store.ready();
    const onDecision = config.spans ? fanOut(log, telemetry({ tracer: tracerProvider.getTracer("leash"), meter: meterProvider.getMeter("leash") })) : log.record;
    guard = createGuard({ policy: shopPolicy(pathToFileURL(config.policyFile)), ...(store !== undefined ? { store, timeoutMs: 5_000 } : {}), onDecision });
  }

  const sessions = new Map<string, Principal>();
  const sessionIds = Array.from({ length: config.sessions }, () => randomUUID());
  const options = (g: Guard): HttpGuardOptions => ({ guard: g, routes: ROUTES, principal: (req: HttpRequestView) => sessions.get(req.cookie("sid") ?? "") ?? { kind: "anonymous", id: "anonymous" } });

  let server: Server;
  let close: () => Promise<void>;
  if (config.framework === "express") {
    const shop = createShop({ guard });
    for (const id of sessionIds) shop.sessions.set(id, { kind: "human", id: `user-${id.slice(0, 6)}` });
    server = await new Promise<Server>((resolve) => {
      const s = shop.app.listen(0, "127.0.0.1", () => resolve(s));
    });
    close = () => closeNode(server);
  } else if (config.framework === "fastify") {
    for (const id of sessionIds) sessions.set(id, { kind: "human", id: `user-${id.slice(0, 6)}` });
    const app = Fastify();
    if (guard !== null) await app.register(fastifyGuard(options(guard)));
    app.get("/catalog", async () => CATALOG);
    app.post("/cart", async (request) => ({ added: (request.body as { sku?: unknown } | undefined)?.sku ?? null }));
    await app.listen({ port: 0, host: "127.0.0.1" });
    server = app.server;
    close = () => app.close();
  } else {
    for (const id of sessionIds) sessions.set(id, { kind: "human", id: `user-${id.slice(0, 6)}` });
    const app = new Hono();
    app.get("/catalog", (c) => c.json(CATALOG));
    app.post("/cart", async (c) => c.json({ added: ((await c.req.json()) as { sku?: unknown }).sku ?? null, decided: decisionOf(c.req.raw) !== undefined }));
    const fetch = guard !== null ? guardFetch(app.fetch, options(guard)) : app.fetch;
    server = await new Promise<Server>((resolve) => {
      const s = serve({ fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s as Server)) as Server;
    });
    close = () => closeNode(server);
  }
  let requests = 0;
  server.on("request", () => void requests++);
  let marked = { requests: 0, cpu: process.cpuUsage() };

  return {
    port: (server.address() as AddressInfo).port,
    sessionIds,
    mark() {
      marked = { requests, cpu: process.cpuUsage() };
    },
    async stop() {
      const cpu = process.cpuUsage(marked.cpu);
      const timedRequests = requests - marked.requests;
      await close();
      // Requests still being decided when the connections closed are logged before the log closes.
      for (let i = 0; i < 500 && log !== null && log.stats().events < requests; i++) await new Promise((r) => setTimeout(r, 10));
      await guard?.close();
      await log?.close();
      const logLines = config.logPath && log ? readFileSync(config.logPath, "utf8").split("\n").filter((l) => l.startsWith('{"kind":"decision"')).length : 0;
      const spans = spanExporter.getFinishedSpans().filter((s) => s.name.startsWith("leash.decide ")).length;
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
      const failedLines = log ? log.stats().sinks.reduce((n, s) => n + s.failed + s.dropped, 0) : 0;
      return { requests, logLines, spans, failedLines, timedRequests, timedCpuUs: cpu.user + cpu.system };
    },
  };
}

function closeNode(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** Child process protocol: `start` with a config, answers `{ port, sessionIds }`; `stop` answers the counts. */
export function serveOverIpc(): void {
  let running: RunningBenchServer | null = null;
  process.on("message", async (msg: { op: "start"; config: ServerConfig } | { op: "mark" } | { op: "stop" }) => {
    try {
      if (msg.op === "start") {
        running = await startBenchServer(msg.config);
        process.send!({ port: running.port, sessionIds: running.sessionIds });
      } else if (msg.op === "mark") {
        running!.mark();
        process.send!({ marked: true });
      } else {
        const counts = await running!.stop();
        process.send!(counts, () => process.exit(0));
      }
    } catch (e) {
      process.send!({ error: e instanceof Error ? e.stack ?? e.message : String(e) }, () => process.exit(1));
    }
  });
}

if (process.argv.includes("--serve-ipc")) serveOverIpc();
