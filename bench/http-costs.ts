/**
 * What each part of a guarded HTTP request costs in process, in CPU time per request: the Guard's
 * decision alone, through the HTTP gate (mapping, route lookup, view), with the JSONL decision log,
 * and with OpenTelemetry (spans through the SDK's BatchSpanProcessor to an exporter that drops
 * them, as production exports; metrics with a reader). Bundled and run in a child process by
 * bench/http.ts (`--costs`), so that what is timed is the bundle users get. The requests are the
 * load's: catalog.search and cart.add over 64 sessions, yielding to the event loop every 32
 * requests as a server does between reads.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { metrics } from "@opentelemetry/api";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { HttpGate } from "../src/adapters/http/gate.js";
import { NodeRequestView } from "../src/adapters/http/view.js";
import { compilePolicyOrThrow, createGuard, type GuardEvent, type Principal } from "../src/index.js";
import { decisionLog, fanOut, jsonlSink } from "../src/log/index.js";
import { telemetry } from "../src/log/otel.js";

export interface HttpCostRow {
  suite: "http";
  engine: "leash";
  check: "CPU time per request in process";
  part: string;
  cpuUs: number;
  /** cpuUs minus the row before it. */
  addedUs: number;
  opsPerSec: number;
  agree: boolean;
}

const N = 60_000;
const WARM = 20_000;

/** An exporter that takes every batch and keeps nothing (what is timed is leash and the SDK, not an exporter's I/O). */
class DroppingExporter implements SpanExporter {
  spans = 0;
  export(spans: ReadableSpan[], done: (r: { code: number }) => void): void {
    this.spans += spans.length;
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

export async function httpCosts(policyFile: string): Promise<HttpCostRow[]> {
  const policy = compilePolicyOrThrow(readFileSync(policyFile, "utf8"), { file: "examples/http.rules" });
  const dir = mkdtempSync(join(tmpdir(), "leash-bench-costs-"));
  const principal: Principal = { kind: "human", id: "user-1" };
  const sessions = new Map(Array.from({ length: 64 }, (_, i) => [`s${i}`, principal]));
  const headers = Array.from({ length: 64 }, (_, i) => ({ cookie: `sid=s${i}`, "user-agent": "autocannon", host: "127.0.0.1" }));
  const routes = { "GET /catalog": "catalog.search", "POST /cart": "cart.add" };
  const exporter = new DroppingExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 65_536, maxExportBatchSize: 512, scheduledDelayMillis: 200 })] });
  const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 })] });
  const noMeter = metrics.getMeter("none");

  const parts: { part: string; onDecision: ((e: GuardEvent) => void) | undefined; gate: boolean; log?: ReturnType<typeof decisionLog> }[] = [];
  const log = () => decisionLog({ sinks: [jsonlSink(join(dir, `${parts.length}.jsonl`))] });
  parts.push({ part: "guard.decide", onDecision: undefined, gate: false });
  parts.push({ part: "+ HTTP gate (view, routes, mapping)", onDecision: undefined, gate: true });
  const l1 = log();
  parts.push({ part: "+ JSONL decision log", onDecision: l1.record, gate: true, log: l1 });
  const l2 = log();
  parts.push({ part: "+ OpenTelemetry spans (BatchSpanProcessor)", onDecision: fanOut(l2, telemetry({ tracer: tracerProvider.getTracer("leash"), meter: noMeter })), gate: true, log: l2 });
  const l3 = log();
  parts.push({ part: "+ OpenTelemetry metrics (a reader)", onDecision: fanOut(l3, telemetry({ tracer: tracerProvider.getTracer("leash"), meter: meterProvider.getMeter("leash") })), gate: true, log: l3 });

  const rows: HttpCostRow[] = [];
  try {
    let previous = 0;
    for (const p of parts) {
      const guard = createGuard({ policy, ...(p.onDecision ? { onDecision: p.onDecision } : {}) });
      const gate = new HttpGate({ guard, routes, principal: (v) => sessions.get(v.cookie("sid") ?? "") ?? { kind: "anonymous", id: "anonymous" } });
      const one = (i: number): unknown => {
        const cart = (i & 1) === 1;
        if (!p.gate) return guard.decide({ principal, action: cart ? "cart.add" : "catalog.search", resource: { type: "http", path: cart ? "/cart" : "/catalog" }, context: { method: cart ? "POST" : "GET", path: cart ? "/cart" : "/catalog", ip: "127.0.0.1" }, session: `s${i & 63}` });
        const path = cart ? "/cart" : "/catalog";
        return gate.check(new NodeRequestView(headers[i & 63]!, cart ? "POST" : "GET", path, path, "127.0.0.1", cart ? { sku: "tea-01" } : undefined, null));
      };
      const run = async (from: number, n: number) => {
        for (let i = from; i < from + n; i++) {
          const r = one(i);
          if (r instanceof Promise) await r;
          if ((i & 31) === 0) await new Promise((r) => setImmediate(r));
        }
      };
      await run(0, WARM);
      const t0 = process.cpuUsage();
      const w0 = performance.now();
      await run(WARM, N);
      const cpu = process.cpuUsage(t0);
      const wall = performance.now() - w0;
      await p.log?.flush();
      const cpuUs = (cpu.user + cpu.system) / N;
      const lines = p.log ? p.log.stats().sinks[0]!.written : N + WARM;
      rows.push({ suite: "http", engine: "leash", check: "CPU time per request in process", part: p.part, cpuUs: round(cpuUs), addedUs: round(cpuUs - previous), opsPerSec: Math.round(N / (wall / 1000)), agree: lines === N + WARM });
      previous = cpuUs;
      await guard.close();
      await p.log?.close();
    }
    await tracerProvider.forceFlush();
    // Every decision of the two span rows reached the exporter.
    const spanRows = rows.slice(3);
    for (const r of spanRows) r.agree &&= exporter.spans === 2 * (N + WARM);
  } finally {
    await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

const round = (x: number) => Math.round(x * 100) / 100;

if (process.argv.includes("--costs")) {
  const file = process.argv[process.argv.indexOf("--costs") + 1]!;
  httpCosts(file).then(
    (rows) => process.send!(rows, () => process.exit(0)),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
