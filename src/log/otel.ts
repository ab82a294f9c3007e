/**
 * `leash/otel`: OpenTelemetry spans and metrics for a Guard, through `@opentelemetry/api` only.
 * Without an SDK registered the API is a no-op and so is this; with one, every decision is a span
 * `leash.decide <action>` (a deny too) and the counters and histogram below are recorded.
 *
 * ```ts
 * import { createGuard } from "leash";
 * import { telemetry } from "leash/otel";
 * const guard = createGuard({ policy, onDecision: telemetry().record });
 * ```
 * @packageDocumentation
 */
import { metrics, SpanKind, SpanStatusCode, trace, type Attributes, type Meter, type Tracer } from "@opentelemetry/api";
import type { GuardEvent } from "../guard/types.js";
import type { DecisionError } from "../runtime/types.js";
import type { DecisionLog } from "./log.js";
import { redactorOf, REDACTED } from "./redact.js";

/** The instrumentation scope of spans and metrics. */
export const SCOPE = "leash";

/** Codes of store failures, counted in `leash.store.errors`. */
const STORE_CODES: ReadonlySet<string> = new Set(["R303", "R314", "R315", "R330", "R331"]);

/** Histogram buckets for decision latency (seconds): 1 µs to 1 s. */
const LATENCY_BUCKETS = [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1];

export interface TelemetryOptions {
  /** Default: `trace.getTracer("leash")` of the global tracer provider. */
  readonly tracer?: Tracer;
  /** Default: `metrics.getMeter("leash")` of the global meter provider. */
  readonly meter?: Meter;
  /** Extra span attributes per event (an HTTP route, a tenant); an exception it throws is ignored. */
  readonly attributes?: (event: GuardEvent) => Attributes | undefined;
  /** A decision log whose failed and dropped lines are exported as `leash.log.failures`. */
  readonly log?: DecisionLog;
}

export interface Telemetry {
  /** Give to the Guard as `onDecision` (or with others through `fanOut`). Never throws. */
  readonly record: (event: GuardEvent) => void;
}

/**
 * Spans and metrics for Guard events. Span attributes: `leash.decision.id`, `leash.decision.effect`,
 * `leash.decision.rules`, `leash.decision.flags`, `leash.decision.obligations`, `leash.policy.hash`,
 * `leash.action`, `leash.store`, `leash.principal.kind`, `session.id`, and for agents
 * `gen_ai.agent.id` (GenAI semantic conventions). Metrics: `leash.decisions` (by effect),
 * `leash.rule.decisions` (by rule and effect), `leash.decision.duration` (s), `leash.store.errors`
 * (by code), `leash.signals`, `leash.flags` (by rule), `leash.shadow.decisions` (by flipped) and,
 * with `log`, `leash.log.failures` (by sink and code).
 */
export function telemetry(options: TelemetryOptions = {}): Telemetry {
  const tracer = options.tracer ?? trace.getTracer(SCOPE);
  const meter = options.meter ?? metrics.getMeter(SCOPE);
  const extra = options.attributes;

  const decisions = meter.createCounter("leash.decisions", { description: "Decisions, by effect", unit: "{decision}" });
  const ruleDecisions = meter.createCounter("leash.rule.decisions", { description: "Decisions a rule decided, by rule and effect", unit: "{decision}" });
  const duration = meter.createHistogram("leash.decision.duration", { description: "Time the Guard spent on a decision, store included", unit: "s", advice: { explicitBucketBoundaries: LATENCY_BUCKETS } });
  const storeErrors = meter.createCounter("leash.store.errors", { description: "Operations the store failed (the Guard denied them), by code", unit: "{error}" });
  const signals = meter.createCounter("leash.signals", { description: "Observed signals", unit: "{signal}" });
  const flags = meter.createCounter("leash.flags", { description: "Flag rules that matched, by rule", unit: "{flag}" });
  const shadows = meter.createCounter("leash.shadow.decisions", { description: "Shadow-mode decisions, by whether the candidate flipped the effect", unit: "{decision}" });
  const log = options.log;
  if (log !== undefined) {
    meter.createObservableCounter("leash.log.failures", { description: "Decision log lines a sink lost (R335) or dropped (R336)", unit: "{line}" }).addCallback((result) => {
      for (const s of log.stats().sinks) {
        result.observe(s.failed, { "leash.log.sink": s.name, "leash.error.code": "R335" });
        result.observe(s.dropped, { "leash.log.sink": s.name, "leash.error.code": "R336" });
      }
    });
  }

  // Metric attributes made once per effect and store, rule and flag (a policy has few of each).
  const byStore = attributeTable();
  const byRule = attributeTable();
  const byFlag = attributeTable();
  const effectAttributes = (effect: string, store: string) => byStore(store, effect, () => ({ "leash.decision.effect": effect, "leash.store": store }));
  const ruleAttributes = (rule: string, effect: string) => byRule(effect, rule, () => ({ "leash.rule.id": rule, "leash.decision.effect": effect }));
  const flagAttributes = (rule: string) => byFlag("", rule, () => ({ "leash.rule.id": rule }));

  const countStoreErrors = (errors: readonly DecisionError[], store: string) => {
    for (const e of errors) if (STORE_CODES.has(e.code)) storeErrors.add(1, { "leash.error.code": e.code, "leash.store": store });
  };

  const record = (e: GuardEvent): void => {
    try {
      const end = performance.timeOrigin + performance.now();
      if (e.kind === "decision") {
        const d = e.decision;
        // The SDK copies list attributes: the Decision's frozen lists are given as they are.
        const attributes: Attributes = {
          "leash.decision.id": e.id,
          "leash.decision.effect": d.effect,
          "leash.decision.rules": d.rules as string[],
          "leash.policy.hash": d.policyHash,
          "leash.action": d.action,
          "leash.store": e.store,
        };
        addRequestAttributes(attributes, e);
        if (d.flags.length > 0) attributes["leash.decision.flags"] = d.flags as string[];
        if (d.obligations.length > 0) attributes["leash.decision.obligations"] = d.obligations.map((o) => (o.kind === "challenge" ? `challenge:${o.challenge}` : `revoke:${redactorOf(e.policy).key(o.key)}`));
        if (extra !== undefined) Object.assign(attributes, safeExtra(extra, e));
        const span = tracer.startSpan(`leash.decide ${d.action}`, { kind: SpanKind.INTERNAL, startTime: end - e.latencyMs, attributes });
        if (d.errors.length > 0) span.setStatus({ code: SpanStatusCode.ERROR, message: `${d.errors[0]!.code}: ${d.errors[0]!.message}` });
        span.end(end);

        const byEffect = effectAttributes(d.effect, e.store);
        decisions.add(1, byEffect);
        for (const rule of d.rules) ruleDecisions.add(1, ruleAttributes(rule, d.effect));
        for (const f of d.flags) flags.add(1, flagAttributes(f));
        duration.record(e.latencyMs / 1000, byEffect);
        countStoreErrors(d.errors, e.store);
      } else if (e.kind === "signal") {
        const attributes: Attributes = { "leash.decision.id": e.id, "leash.signal": e.signal.signal, "leash.policy.hash": e.policy.hash, "leash.store": e.store };
        addRequestAttributes(attributes, e);
        if (e.outcome.revoked.length > 0) attributes["leash.signal.revoked"] = e.outcome.revoked.map((r) => redactorOf(e.policy).key(r.key));
        Object.assign(attributes, safeExtra(extra, e));
        const span = tracer.startSpan(`leash.observe ${e.signal.signal}`, { kind: SpanKind.INTERNAL, startTime: end - e.latencyMs, attributes });
        if (e.outcome.errors.length > 0) span.setStatus({ code: SpanStatusCode.ERROR, message: `${e.outcome.errors[0]!.code}: ${e.outcome.errors[0]!.message}` });
        span.end(end);
        signals.add(1, { "leash.store": e.store });
        for (const f of e.outcome.flags) flags.add(1, flagAttributes(f));
        countStoreErrors(e.outcome.errors, e.store);
      } else if (e.kind === "shadow") {
        shadows.add(1, { "leash.shadow.flipped": e.flipped });
      } else if (e.error !== undefined) {
        countStoreErrors([e.error], e.store);
      }
    } catch {
      // Telemetry never changes a decision.
    }
  };
  return { record };
}

/** Who and in which session, as span attributes; a `[secret]` principal id stays out. */
function addRequestAttributes(out: Attributes, e: Extract<GuardEvent, { kind: "decision" | "signal" }>): void {
  const x = e.kind === "decision" ? e.request : e.signal;
  const p = x.principal;
  if (p !== undefined && p !== null && typeof p === "object") {
    if (typeof p.kind === "string") out["leash.principal.kind"] = p.kind;
    const id = e.policy.ir?.secrets.includes("principal.id") === true ? REDACTED : p.id;
    if (typeof id === "string") {
      out["leash.principal.id"] = id;
      if (p.kind === "agent") out["gen_ai.agent.id"] = id;
    }
  }
  if (typeof x.session === "string") out["session.id"] = x.session;
}

/** Frozen attribute sets by two keys, each made once. */
function attributeTable(): (outer: string, inner: string, make: () => Attributes) => Attributes {
  const table = new Map<string, Map<string, Attributes>>();
  return (outer, inner, make) => {
    let row = table.get(outer);
    if (row === undefined) table.set(outer, (row = new Map()));
    let a = row.get(inner);
    if (a === undefined) row.set(inner, (a = Object.freeze(make())));
    return a;
  };
}

function safeExtra(f: TelemetryOptions["attributes"], e: GuardEvent): Attributes {
  if (f === undefined) return {};
  try {
    return f(e) ?? {};
  } catch {
    return {};
  }
}
