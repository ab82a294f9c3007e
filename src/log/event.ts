import type { GuardEvent } from "../guard/types.js";
import type { Decision, DecisionEffect, DecisionError, Obligation, Reason } from "../runtime/types.js";
import { isoTime, micros } from "./line.js";
import { redactorOf, scrub, type Redactor } from "./redact.js";

/** A reason as a log line holds it: the rule, its message, its code, where the rule is written. */
export interface LogReason {
  readonly rule: string | null;
  readonly effect: DecisionEffect | "flag";
  readonly message: string;
  readonly code?: string;
  /** `file:line:col` of the rule. */
  readonly at?: string;
}

export interface LogError {
  readonly rule: string | null;
  readonly code: string;
  readonly message: string;
}

/** Fields every line has. */
interface LogBase {
  /** The decision id (the Guard's event id). */
  readonly id: string;
  /** The time of the event: the request's or signal's time, as ISO 8601. */
  readonly time: string;
  /** Content hash of the policy that decided. */
  readonly policyHash: string;
  /** The store that held the state (`memory`, `redis`, ...). */
  readonly store: string;
  /** The decision log's `labels` (service, version, region, ...), when it has any. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** One decision (see docs/monitoring.md for the schema). */
export interface LogDecision extends LogBase {
  readonly kind: "decision";
  /** The request as decided, with its time in ms; `[secret]` attributes redacted. */
  readonly input: Record<string, unknown>;
  readonly effect: DecisionEffect;
  /** The deciding rules (sorted); empty for the default deny. */
  readonly rules: readonly string[];
  readonly reasons: readonly LogReason[];
  readonly obligations: readonly Obligation[];
  readonly flags: readonly string[];
  readonly errors: readonly LogError[];
  readonly warnings: readonly LogError[];
  readonly validUntil: number | null;
  readonly nextDeadline: number | null;
  readonly watch: readonly string[];
  /** Time the Guard spent, store included (ms, to the µs). */
  readonly latencyMs: number;
  /** Paths of the `[secret]` attributes whose values the input had (and this line does not). */
  readonly redacted?: readonly string[];
  /** True when the input was too large for a line and only its principal, action, session and time are kept. */
  readonly truncated?: boolean;
}

/** One observed signal. */
export interface LogSignal extends LogBase {
  readonly kind: "signal";
  readonly input: Record<string, unknown>;
  readonly revoked: readonly { readonly key: string; readonly rule: string; readonly reason: string }[];
  readonly flags: readonly string[];
  readonly errors: readonly LogError[];
  readonly latencyMs: number;
  readonly redacted?: readonly string[];
  readonly truncated?: boolean;
}

/** A revocation or reinstatement by API call. */
export interface LogKeyOperation extends LogBase {
  readonly kind: "revoke" | "reinstate";
  readonly key: string;
  readonly reason?: string;
  readonly error?: LogError;
}

/** Shadow mode: a decision the candidate policy would have made differently (or, with `shadow: "all"`, any). */
export interface LogShadow extends LogBase {
  readonly kind: "shadow";
  /** `policyHash` is the candidate's; this is the enforced policy's. */
  readonly enforcedPolicyHash: string;
  readonly input: Record<string, unknown>;
  readonly flipped: boolean;
  /** What was enforced. */
  readonly effect: DecisionEffect;
  readonly rules: readonly string[];
  /** What the candidate decided. */
  readonly candidate: {
    readonly effect: DecisionEffect;
    readonly rules: readonly string[];
    readonly reasons: readonly LogReason[];
    readonly obligations: readonly Obligation[];
    readonly flags: readonly string[];
    readonly errors: readonly LogError[];
  };
  readonly latencyMs: number;
  readonly redacted?: readonly string[];
  readonly truncated?: boolean;
}

/** A line of a decision log. */
export type LogEvent = LogDecision | LogSignal | LogKeyOperation | LogShadow;

/** What a log line is built from besides the event. */
export interface LogContext {
  readonly labels: Readonly<Record<string, string>> | undefined;
  /** `,"labels":{...}`, or empty without labels. */
  readonly labelsJson: string;
}

/** A Guard event as a log line's object. Never throws for an event the Guard emitted. */
export function logEventOf(e: GuardEvent, ctx: LogContext): LogEvent {
  const r = redactorOf(e.policy);
  const base = (time: number, policyHash: string) => ({ id: e.id, time: isoTime(time), policyHash, store: e.store, ...(ctx.labels ? { labels: ctx.labels } : {}) });
  switch (e.kind) {
    case "decision": {
      const { input, redacted, keys } = r.input(inputOf(e.request, e.decision.time));
      return {
        kind: "decision",
        ...base(e.decision.time, e.decision.policyHash),
        input,
        ...outcomeOf(e.decision, keys, r),
        validUntil: e.decision.validUntil,
        nextDeadline: e.decision.nextDeadline,
        watch: keys.length === 0 ? e.decision.watch : e.decision.watch.map((w) => r.key(w)),
        latencyMs: micros(e.latencyMs),
        ...(redacted.length > 0 ? { redacted } : {}),
      };
    }
    case "signal": {
      const time = numberTime(e.signal.time);
      const { input, redacted, keys } = r.input(inputOf(e.signal, time));
      return {
        kind: "signal",
        ...base(time, e.policy.hash),
        input,
        revoked: e.outcome.revoked.map((x) => ({ key: r.key(x.key), rule: x.rule, reason: scrub(x.reason, keys, r) })),
        flags: e.outcome.flags,
        errors: e.outcome.errors.map((x) => errorOf(x, keys, r)),
        latencyMs: micros(e.latencyMs),
        ...(redacted.length > 0 ? { redacted } : {}),
      };
    }
    case "revoke":
    case "reinstate":
      return {
        kind: e.kind,
        ...base(e.time, e.policy.hash),
        key: r.key(e.key),
        ...(e.kind === "revoke" ? { reason: e.reason } : {}),
        ...(e.error ? { error: errorOf(e.error, [], r) } : {}),
      };
    case "shadow": {
      // Either policy's secrets are kept out of the line.
      const both = redactorOf(e.policy, e.candidatePolicy);
      const { input, redacted, keys } = both.input(inputOf(e.request, e.decision.time));
      const c = outcomeOf(e.candidate, keys, both);
      return {
        kind: "shadow",
        ...base(e.decision.time, e.candidate.policyHash),
        enforcedPolicyHash: e.decision.policyHash,
        input,
        flipped: e.flipped,
        effect: e.decision.effect,
        rules: e.decision.rules,
        candidate: { effect: c.effect, rules: c.rules, reasons: c.reasons, obligations: c.obligations, flags: c.flags, errors: c.errors },
        latencyMs: micros(e.latencyMs),
        ...(redacted.length > 0 ? { redacted } : {}),
      };
    }
  }
}

function outcomeOf(d: Decision, keys: readonly string[], r: Redactor) {
  return {
    effect: d.effect,
    rules: d.rules,
    reasons: d.reasons.map((x) => reasonOf(x, keys, r)),
    obligations: keys.length === 0 ? d.obligations : d.obligations.map((o) => (o.kind === "revoke" ? { ...o, key: r.key(o.key) } : o)),
    flags: d.flags,
    errors: d.errors.map((x) => errorOf(x, keys, r)),
    warnings: d.warnings.map((x) => errorOf(x, keys, r)),
  };
}

function reasonOf(x: Reason, keys: readonly string[], r: Redactor): LogReason {
  const at = x.span ? `${x.span.file}:${x.span.line}:${x.span.column}` : undefined;
  return { rule: x.rule, effect: x.effect, message: scrub(x.message, keys, r), ...(x.code ? { code: x.code } : {}), ...(at ? { at } : {}) };
}

function errorOf(x: DecisionError, keys: readonly string[], r: Redactor): LogError {
  return { rule: x.rule, code: x.code, message: scrub(x.message, keys, r) };
}

/** The request or signal as a plain object (own enumerable fields), with its time in ms. */
function inputOf(x: object, time: number): Record<string, unknown> {
  try {
    return { ...(x as Record<string, unknown>), time };
  } catch {
    // A getter that throws: the line keeps the fields that can be read.
    const out: Record<string, unknown> = {};
    for (const k of ["principal", "action", "signal", "resource", "context", "session"]) {
      try {
        if (Object.prototype.hasOwnProperty.call(x, k)) out[k] = (x as Record<string, unknown>)[k];
      } catch {
        out[k] = "[unreadable]";
      }
    }
    return { ...out, time };
  }
}

function numberTime(t: unknown): number {
  if (typeof t === "number" && Number.isFinite(t)) return t;
  const parsed = typeof t === "string" ? Date.parse(t) : NaN;
  return Number.isFinite(parsed) ? parsed : 0;
}
