import { metrics, trace } from "@opentelemetry/api";
import { AggregationTemporality, DataPointType, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricData } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { compilePolicyOrThrow } from "../../src/compile/compile.js";
import { createGuard } from "../../src/guard/index.js";
import { decisionLog, fanOut } from "../../src/log/index.js";
import { telemetry } from "../../src/log/otel.js";
import { StoreError, type Store } from "../../src/stores/store.js";

const policy = compilePolicyOrThrow(`schema { principal { kind: string, id: string [secret] } context { ip?: string } }
rule shoppers: allow login.attempt, payment.submit, cart.add, account.create
rule no-fresh-pay: deny payment.submit when sequence(account.create, cart.add by session within 30s)
rule stuffing: challenge login.attempt when count(signal login.fail by context.ip within 1m) >= 2 require captcha
rule robotic: flag login.attempt when gap(attempted login.attempt by context.ip) < 300ms`);

/** The real SDK with in-memory exporters, not registered globally. */
function sdk() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const collect = async (): Promise<Map<string, MetricData>> => {
    await reader.forceFlush();
    const out = new Map<string, MetricData>();
    for (const rm of exporter.getMetrics()) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) out.set(m.descriptor.name, m);
    exporter.reset();
    return out;
  };
  return { spans, tracer: tracerProvider.getTracer("leash"), meter: meterProvider.getMeter("leash"), collect, close: () => Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]) };
}

const sums = (m: MetricData | undefined) => (m?.dataPoints ?? []).map((p) => ({ attributes: p.attributes, value: p.value as number }));

describe("telemetry through the real OpenTelemetry SDK", () => {
  it("one span per decision, named after the action, with effect, rules, policy hash and session; a deny too", async () => {
    const o = sdk();
    const guard = createGuard({ policy, onDecision: telemetry({ tracer: o.tracer, meter: o.meter }).record });
    await guard.decide({ principal: { kind: "agent", id: "shopper" }, action: "account.create", session: "c1" }, { id: "d1" });
    await guard.decide({ principal: { kind: "agent", id: "shopper" }, action: "cart.add", session: "c1" }, { id: "d2" });
    await guard.decide({ principal: { kind: "agent", id: "shopper" }, action: "payment.submit", session: "c1" }, { id: "d3" });
    const spans = o.spans.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(["leash.decide account.create", "leash.decide cart.add", "leash.decide payment.submit"]);
    const deny = spans[2]!;
    expect(deny.attributes).toMatchObject({
      "leash.decision.id": "d3",
      "leash.decision.effect": "deny",
      "leash.decision.rules": ["no-fresh-pay"],
      "leash.policy.hash": policy.hash,
      "leash.action": "payment.submit",
      "leash.store": "memory",
      "session.id": "c1",
      "leash.principal.kind": "agent",
      // principal.id is [secret] in this schema
      "leash.principal.id": "[redacted]",
      "gen_ai.agent.id": "[redacted]",
    });
    expect(spans[0]!.attributes["leash.decision.effect"]).toBe("allow");
    expect(spans[1]!.attributes["leash.decision.rules"]).toEqual(["shoppers"]);
    for (const s of spans) {
      const ms = (s.endTime[0] - s.startTime[0]) * 1e3 + (s.endTime[1] - s.startTime[1]) / 1e6;
      expect(ms).toBeGreaterThanOrEqual(0);
    }
    await o.close();
  });

  it("metrics: decisions by effect, by rule, the latency histogram, flags, signals and store errors", async () => {
    const o = sdk();
    const t = telemetry({ tracer: o.tracer, meter: o.meter });
    const guard = createGuard({ policy, onDecision: t.record });
    const ip = { ip: "203.0.113.9" };
    const who = { kind: "human", id: "ana" };
    for (let i = 0; i < 2; i++) await guard.observe({ signal: "login.fail", context: ip });
    await guard.decide({ principal: who, action: "login.attempt", context: ip });
    await guard.decide({ principal: who, action: "login.attempt", context: ip });
    await guard.decide({ principal: who, action: "cart.add" });
    const failing: Store = { kind: "failing", transact: () => { throw new StoreError("R314", "down"); }, close: async () => {} };
    await createGuard({ policy, store: failing, onDecision: t.record }).decide({ principal: who, action: "cart.add" });

    const m = await o.collect();
    expect(sums(m.get("leash.decisions"))).toEqual(
      expect.arrayContaining([
        { attributes: { "leash.decision.effect": "challenge", "leash.store": "memory" }, value: 2 },
        { attributes: { "leash.decision.effect": "allow", "leash.store": "memory" }, value: 1 },
        { attributes: { "leash.decision.effect": "deny", "leash.store": "failing" }, value: 1 },
      ]),
    );
    expect(sums(m.get("leash.rule.decisions"))).toEqual(
      expect.arrayContaining([
        { attributes: { "leash.rule.id": "stuffing", "leash.decision.effect": "challenge" }, value: 2 },
        { attributes: { "leash.rule.id": "shoppers", "leash.decision.effect": "allow" }, value: 1 },
      ]),
    );
    expect(sums(m.get("leash.flags"))).toEqual([{ attributes: { "leash.rule.id": "robotic" }, value: 1 }]);
    expect(sums(m.get("leash.signals"))).toEqual([{ attributes: { "leash.store": "memory" }, value: 2 }]);
    expect(sums(m.get("leash.store.errors"))).toEqual([{ attributes: { "leash.error.code": "R314", "leash.store": "failing" }, value: 1 }]);
    const histogram = m.get("leash.decision.duration")!;
    expect(histogram.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(histogram.descriptor.unit).toBe("s");
    const count = histogram.dataPoints.reduce((n, p) => n + (p.value as { count: number }).count, 0);
    expect(count).toBe(4);
    // The store failure's span says so.
    const failed = o.spans.getFinishedSpans().find((s) => s.attributes["leash.store"] === "failing")!;
    expect(failed.status).toMatchObject({ code: 2, message: expect.stringContaining("R314") });
    await o.close();
  });

  it("exports the decision log's failed lines as leash.log.failures", async () => {
    const o = sdk();
    const log = decisionLog({ sinks: [{ name: "broken", write: () => { throw new Error("EIO"); } }], onProblem: () => {} });
    const guard = createGuard({ policy, onDecision: fanOut(log, telemetry({ tracer: o.tracer, meter: o.meter, log })) });
    await guard.decide({ principal: { kind: "human", id: "ana" }, action: "cart.add" });
    await guard.decide({ principal: { kind: "human", id: "ana" }, action: "cart.add" });
    expect(sums((await o.collect()).get("leash.log.failures"))).toEqual([
      { attributes: { "leash.log.sink": "broken", "leash.error.code": "R335" }, value: 2 },
      { attributes: { "leash.log.sink": "broken", "leash.error.code": "R336" }, value: 0 },
    ]);
    await o.close();
  });

  it("without an SDK the global API is a no-op: nothing is recorded and nothing fails", async () => {
    expect(trace.getTracerProvider().getTracer("leash").startSpan("x").isRecording()).toBe(false);
    const guard = createGuard({ policy, onDecision: telemetry().record });
    expect((await guard.decide({ principal: { kind: "human", id: "ana" }, action: "cart.add" })).effect).toBe("allow");
    expect(metrics.getMeterProvider().getMeter("leash")).toBeDefined();
  });
});
