import { isRecord } from "./attributes.js";
import type { Policy } from "./engine.js";
import type { Decision, KeySpec, PolicyState } from "./types.js";

/**
 * A trace line: a request (has `action`), a signal (has `signal`), or a state operation
 * (`{"revoke": KEY, "reason": "...", "time": T}`, `{"reinstate": KEY}`), optionally with the
 * outcome it must have in `expect`: an effect name or `{effect, rules, flags, validUntil,
 * nextDeadline, watch, revoked}`.
 */
export type TraceEvent = Record<string, unknown>;

export interface Expectation {
  readonly effect?: string;
  readonly rules?: readonly string[];
  readonly flags?: readonly string[];
  readonly validUntil?: number | null;
  readonly nextDeadline?: number | null;
  readonly watch?: readonly string[];
  /** For signals and revoke/reinstate lines: the keys revoked by this line. */
  readonly revoked?: readonly string[];
}

export interface TraceStep {
  /** 1-based index of the event in the trace. */
  readonly index: number;
  readonly kind: "request" | "signal" | "revoke" | "reinstate" | "invalid";
  readonly event: TraceEvent;
  readonly decision?: Decision;
  /** Keys revoked by a signal or revoke line; flags raised by a signal. */
  readonly revoked?: readonly string[];
  readonly flags?: readonly string[];
  readonly message?: string;
  readonly expect?: Expectation;
  /** What differs from `expect`; empty when it matched or nothing was expected. */
  readonly mismatches: readonly string[];
}

/** Replays a trace through the policy, threading state, and checks each line's `expect`. */
export function replayTrace(policy: Policy, events: readonly TraceEvent[], initial?: PolicyState): { steps: TraceStep[]; state: PolicyState } {
  let state = initial ?? policy.initialState();
  const steps: TraceStep[] = [];
  events.forEach((raw, i) => {
    const index = i + 1;
    const expect = parseExpect(raw.expect);
    const event = withoutExpect(raw);
    if (typeof event.action === "string") {
      const r = policy.decide(state, event);
      state = r.state;
      steps.push({ index, kind: "request", event, decision: r.decision, expect, mismatches: compare(expect, r.decision) });
    } else if (typeof event.signal === "string") {
      const r = policy.observe(state, event);
      state = r.state;
      const revoked = r.revoked.map((x) => x.key);
      const mismatches = [...compareList("flags", expect?.flags, r.flags), ...compareList("revoked", expect?.revoked, revoked)];
      if (r.errors.length > 0 && r.errors.some((e) => e.code === "R304" || e.code === "R303")) mismatches.push(...(expect ? [`signal rejected: ${r.errors[0]!.message}`] : []));
      steps.push({ index, kind: "signal", event, revoked, flags: r.flags, message: r.errors.map((e) => e.message).join("; ") || undefined, expect, mismatches });
    } else if (isRecord(event.revoke)) {
      const r = policy.revoke(state, event.revoke as KeySpec, String(event.reason ?? "revoked by API"), typeof event.time === "number" ? event.time : 0);
      state = r.state;
      const revoked = r.error ? [] : [r.key];
      steps.push({ index, kind: "revoke", event, revoked, message: r.error?.message, expect, mismatches: compareList("revoked", expect?.revoked, revoked) });
    } else if (isRecord(event.reinstate)) {
      const r = policy.reinstate(state, event.reinstate as KeySpec);
      state = r.state;
      steps.push({ index, kind: "reinstate", event, message: r.error?.message, expect, mismatches: [] });
    } else {
      steps.push({ index, kind: "invalid", event, message: "a trace line has `action`, `signal`, `revoke` or `reinstate`", expect, mismatches: expect ? ["not an event"] : [] });
    }
  });
  return { steps, state };
}

function withoutExpect(e: TraceEvent): TraceEvent {
  if (!("expect" in e)) return e;
  const { expect: _drop, ...rest } = e;
  return rest;
}

function parseExpect(x: unknown): Expectation | undefined {
  if (x === undefined) return undefined;
  if (typeof x === "string") return { effect: x };
  if (isRecord(x)) return x as Expectation;
  return { effect: String(x) };
}

function compare(expect: Expectation | undefined, d: Decision): string[] {
  if (!expect) return [];
  const out: string[] = [];
  if (expect.effect !== undefined && expect.effect !== d.effect) out.push(`effect: expected ${expect.effect}, got ${d.effect}`);
  out.push(...compareList("rules", expect.rules, d.rules), ...compareList("flags", expect.flags, d.flags));
  if (expect.validUntil !== undefined && expect.validUntil !== d.validUntil) out.push(`validUntil: expected ${expect.validUntil}, got ${d.validUntil}`);
  if (expect.nextDeadline !== undefined && expect.nextDeadline !== d.nextDeadline) out.push(`nextDeadline: expected ${expect.nextDeadline}, got ${d.nextDeadline}`);
  if (expect.watch !== undefined) {
    const missing = expect.watch.filter((w) => !d.watch.includes(w));
    if (missing.length > 0) out.push(`watch: missing ${missing.join(", ")} (got ${d.watch.join(", ")})`);
  }
  return out;
}

function compareList(name: string, expected: readonly string[] | undefined, got: readonly string[]): string[] {
  if (expected === undefined) return [];
  const a = [...expected].sort().join(",");
  const b = [...got].sort().join(",");
  return a === b ? [] : [`${name}: expected [${a}], got [${b}]`];
}

/** Parses JSON Lines; blank lines and lines starting with `//` are skipped. Errors name the line. */
export function parseJsonLines(text: string, file = "<trace>"): { events: TraceEvent[]; errors: string[] } {
  const events: TraceEvent[] = [];
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t === "" || t.startsWith("//")) return;
    try {
      const v = JSON.parse(t) as unknown;
      if (!isRecord(v)) errors.push(`${file}:${i + 1}: a trace line is a JSON object`);
      else events.push(v);
    } catch (e) {
      errors.push(`${file}:${i + 1}: invalid JSON: ${(e as Error).message}`);
    }
  });
  return { events, errors };
}
