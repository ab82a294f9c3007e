import type { Effect, Literal, PolicyFile, SetLit, TestDecl, TestGiven, TestStep, TestWith } from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import type { Policy } from "../runtime/engine.js";
import type { Decision } from "../runtime/types.js";
import type { TraceEntry } from "./arbitraries.js";
import type { Outcome } from "./coverage.js";
import { isProbe } from "./probes.js";
import { observe } from "../runtime/operations.js";

/** The outcome of one step of a `test` block. */
export interface TestStepResult {
  /** 1-based position of the step in its test. */
  readonly index: number;
  readonly span: Span;
  readonly kind: "request" | "signal";
  /** The request or signal the step was turned into (a JSONL trace line). */
  readonly event: TraceEntry;
  /** What the step expects (`=> deny by no-exfil`); absent when it expects nothing. */
  readonly expected?: { readonly effect: Effect; readonly rule: string | null };
  /** What the policy decided (requests only). */
  readonly got?: { readonly effect: string; readonly rules: readonly string[]; readonly flags: readonly string[] };
  readonly ok: boolean;
  /** Why the step failed. */
  readonly message?: string;
}

/** The outcome of one `test` block. */
export interface TestResult {
  readonly name: string;
  readonly span: Span;
  readonly ok: boolean;
  readonly steps: readonly TestStepResult[];
}

/** Options for `runTests`. */
export interface RunTestsOptions {
  /** Called with every decision and signal outcome (coverage). */
  readonly onOutcome?: (o: Outcome) => void;
}

/** The epoch test times are relative to: `at 5s` is 5,000 ms. */
export const TEST_EPOCH = 0;

/**
 * Runs every `test` block of a parsed file against a compiled policy: steps in order, state
 * threaded from `policy.initialState()`, `at D` relative to epoch 0 (a step without `at` one second
 * after the previous one, the first at 0), signals through `observe`; each request's effect
 * and optional `by RULE` (the rule must be among `decision.rules`) compared with the step.
 */
export function runTests(policy: Policy, ast: PolicyFile, options: RunTestsOptions = {}): TestResult[] {
  return ast.items.filter((i): i is TestDecl => i.kind === "TestDecl").map((t) => runTest(policy, t, options));
}

/** Runs one `test` block. */
export function runTest(policy: Policy, test: TestDecl, options: RunTestsOptions = {}): TestResult {
  let state = policy.initialState();
  const steps: TestStepResult[] = [];
  const events = testEvents(test);
  test.steps.forEach((step, i) => {
    const event = events[i]!;
    const index = i + 1;
    if (step.kind === "TestSignal") {
      const r = observe(policy, state, event);
      state = r.state;
      options.onOutcome?.({ rules: r.revoked.map((x) => x.rule), flags: r.flags, errors: r.errors });
      const rejected = r.errors.find((e) => e.code === "R304" || e.code === "R303");
      steps.push({ index, span: step.span, kind: "signal", event, ok: rejected === undefined, ...(rejected ? { message: rejected.message } : {}) });
      return;
    }
    const r = policy.decide(state, event);
    state = r.state;
    options.onOutcome?.({ rules: r.decision.rules, flags: r.decision.flags, errors: r.decision.errors });
    const expected = step.expect ? { effect: step.expect.effect, rule: step.expect.rule?.value ?? null } : undefined;
    const got = { effect: r.decision.effect, rules: r.decision.rules, flags: r.decision.flags.filter((f) => !isProbe(f)) };
    const message = expected ? mismatch(expected, r.decision) : null;
    steps.push({ index, span: step.span, kind: "request", event, ...(expected ? { expected } : {}), got, ok: message === null, ...(message ? { message } : {}) });
  });
  return { name: test.name.value, span: test.span, ok: steps.every((s) => s.ok), steps };
}

/** Why a decision does not meet a step's expectation, or null. `=> flag by R` expects R among the flags. */
function mismatch(expected: { effect: Effect; rule: string | null }, d: Decision): string | null {
  const explain = () => (d.rules.length > 0 ? ` by ${d.rules.join(", ")}` : d.reasons.length > 0 ? ` (${d.reasons.map((r) => r.code ?? r.rule ?? "").filter(Boolean).join(", ")}: ${d.reasons[d.reasons.length - 1]!.message})` : "");
  if (expected.effect === "flag") {
    const flags = d.flags.filter((f) => !isProbe(f));
    if (expected.rule !== null) return flags.includes(expected.rule) ? null : `expected flag ${expected.rule}, got ${flags.length > 0 ? `flags ${flags.join(", ")}` : "no flag"}`;
    return flags.length > 0 ? null : "expected a flag, got none";
  }
  if (d.effect !== expected.effect) return `expected ${expected.effect}${expected.rule ? ` by ${expected.rule}` : ""}, got ${d.effect}${explain()}`;
  if (expected.rule !== null && !d.rules.includes(expected.rule)) return `expected ${expected.effect} by ${expected.rule}, got ${d.effect}${explain()}`;
  return null;
}

/**
 * The requests and signals of a test block, with their times. The test's `given` is what every
 * step has unless it says otherwise: its principal (for a signal too), its session, and its
 * attribute blocks, which a step's own blocks extend field by field.
 */
export function testEvents(test: TestDecl): TraceEntry[] {
  let prev: number | null = null;
  const given = test.given;
  return test.steps.map((step) => {
    const time: number = step.at !== null ? TEST_EPOCH + step.at.ms : prev === null ? TEST_EPOCH : prev + 1000;
    prev = time;
    return stepEvent(step, time, given?.with ?? [], given?.principal ?? null);
  });
}

function stepEvent(step: TestStep, time: number, given: readonly TestWith[], givenPrincipal: TestGiven["principal"]): TraceEntry {
  const withs = [...given, ...step.with];
  const attrs = (entity: "principal" | "resource" | "context") => withAttributes(withs, entity);
  const session = [...withs].reverse().find((w): w is Extract<TestWith, { kind: "WithSession" }> => w.kind === "WithSession")?.session.value;
  const context = attrs("context");
  const resourceAttrs = attrs("resource");
  const principalAttrs = attrs("principal");
  if (step.kind === "TestRequest") {
    const resource = step.resource !== null ? { ...(resourceAttrs ?? {}), path: step.resource.glob } : resourceAttrs;
    return clean({
      principal: { ...(principalAttrs ?? {}), kind: (step.principalKind ?? givenPrincipal?.kind)?.value, id: (step.principalId ?? givenPrincipal?.id)?.value },
      action: step.action.segments.join("."),
      resource,
      context,
      session,
      time,
    }) as unknown as TraceEntry;
  }
  const who = step.principal ?? givenPrincipal;
  const principal = who !== null ? { ...(principalAttrs ?? {}), kind: who.kind.value, id: who.id.value } : undefined;
  return clean({ signal: step.signal.segments.join("."), principal, resource: resourceAttrs, context, session, time }) as unknown as TraceEntry;
}

function withAttributes(list: readonly TestWith[], entity: "principal" | "resource" | "context"): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const w of list) {
    if (w.kind !== "WithAttributes" || w.entity !== entity) continue;
    out ??= {};
    for (const f of w.fields) out[f.name.value] = literalValue(f.value);
  }
  return out;
}

function literalValue(l: Literal | SetLit): unknown {
  switch (l.kind) {
    case "SetLit":
      return l.elements.map(literalValue);
    case "DurationLit":
      return l.ms;
    default:
      return l.value;
  }
}

function clean(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
