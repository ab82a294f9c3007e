import { compilePolicy } from "../../src/compile/compile.js";
import type { Policy } from "../../src/runtime/engine.js";
import type { KeySpec, PolicyState } from "../../src/runtime/types.js";
import type { TraceEvent } from "../../src/testing/arbitraries-policy.js";
import { ReferenceMonitor } from "../reference/monitor.js";
import { attributeKey, principalKey, sessionKey } from "../reference/subject.js";
import { observe, reinstate } from "../../src/runtime/operations.js";

/** `LEASH_DEEP=1` runs every property 10x longer. */
export const DEPTH = process.env.LEASH_DEEP ? 10 : 1;

/** Per-test timeout: generous, since the machine may be shared, and scaled with `DEPTH`. */
export const TIMEOUT = 180_000 * DEPTH;

export interface Compiled {
  readonly policy: Policy;
  /** A fresh reference interpreter for the same policy. */
  readonly reference: () => ReferenceMonitor;
}

/** Compiles generated source; a generated policy that does not compile is a generator bug. */
export function compileOrThrow(source: string, options: { maxKeys?: number } = {}): Compiled {
  const r = compilePolicy(source, options);
  if (r.policy === null) {
    throw new Error(`generated policy does not compile:\n${r.diagnostics.map((d) => `${d.code} ${d.span.line}:${d.span.column} ${d.message}`).join("\n")}\n--- policy ---\n${source}`);
  }
  return { policy: r.policy, reference: () => new ReferenceMonitor(r.ast) };
}

/** A trace step: a request, a signal, or `reinstate(policy, state, key)`. */
export type Step = TraceEvent | { readonly reinstate: KeySpec };

/** The reference's name for a key (`session:s1`, `principal:agent/bot-1`, `context.ip=string:10.0.0.1`). */
export function referenceKey(key: KeySpec): string {
  if ("session" in key) return sessionKey(key.session);
  if ("principal" in key) return principalKey(key.principal);
  return attributeKey(key.attribute, key.value);
}

/** What both implementations must agree on for one step of a trace. */
export interface StepOutcome {
  readonly effect: string | null;
  readonly rules: readonly string[];
  readonly flags: readonly string[];
}

function describe(o: StepOutcome): string {
  return `${o.effect ?? "observe"} rules=[${o.rules.join(",")}] flags=[${o.flags.join(",")}]`;
}

function same(a: StepOutcome, b: StepOutcome): boolean {
  return a.effect === b.effect && a.rules.join(",") === b.rules.join(",") && a.flags.join(",") === b.flags.join(",");
}

/** Runs `trace` through the compiled engine (threading state) and returns each step's outcome. */
export function runEngine(policy: Policy, trace: readonly Step[], state: PolicyState = policy.initialState()): { outcomes: StepOutcome[]; state: PolicyState } {
  const outcomes: StepOutcome[] = [];
  for (const step of trace) {
    if ("reinstate" in step) {
      state = reinstate(policy, state, step.reinstate).state;
      outcomes.push({ effect: null, rules: [], flags: [] });
    } else if ("decide" in step) {
      const r = policy.decide(state, step.decide);
      state = r.state;
      outcomes.push({ effect: r.decision.effect, rules: r.decision.rules, flags: r.decision.flags });
    } else {
      const r = observe(policy, state, step.observe);
      state = r.state;
      outcomes.push({ effect: null, rules: [], flags: r.flags });
    }
  }
  return { outcomes, state };
}

export function runReference(reference: ReferenceMonitor, trace: readonly Step[]): StepOutcome[] {
  return trace.map((step) => {
    if ("reinstate" in step) {
      reference.reinstate(referenceKey(step.reinstate));
      return { effect: null, rules: [], flags: [] };
    }
    if ("decide" in step) {
      const d = reference.decide(step.decide);
      return { effect: d.effect, rules: d.rules, flags: d.flags };
    }
    return { effect: null, rules: [], flags: reference.observe(step.observe).flags };
  });
}

/** A readable trace: one line per step, times relative to the first. */
export function traceText(trace: readonly Step[]): string {
  const t0 = startTime(trace);
  return trace
    .map((s, i) => {
      if ("reinstate" in s) return `  #${i} reinstate ${JSON.stringify(s.reinstate)}`;
      const { time, ...rest } = "decide" in s ? s.decide : s.observe;
      return `  #${i} +${Number(time) - t0}ms ${"decide" in s ? "decide" : "observe"} ${JSON.stringify(rest)}`;
    })
    .join("\n");
}

function startTime(trace: readonly Step[]): number {
  const first = trace.find((s) => !("reinstate" in s)) as TraceEvent | undefined;
  return first === undefined ? 0 : Number("decide" in first ? first.decide.time : first.observe.time);
}

/**
 * Runs `trace` through both implementations and throws, with the policy, the trace and the first
 * differing step, when they disagree on any step's effect, deciding rules or flags.
 */
export function assertAgree(source: string, compiled: Compiled, trace: readonly Step[]): void {
  const { policy, reference } = compiled;
  const engine = runEngine(policy, trace).outcomes;
  const expected = runReference(reference(), trace);
  const at = expected.findIndex((e, i) => !same(e, engine[i]!));
  if (at < 0) return;
  throw new Error(
    `engine and reference disagree at step #${at}\n` +
      `  reference: ${describe(expected[at]!)}\n  engine:    ${describe(engine[at]!)}\n` +
      `--- policy ---\n${source}--- trace (time base ${startTime(trace)}) ---\n${traceText(trace)}\n` +
      `--- all steps (reference | engine) ---\n${expected.map((e, i) => `  #${i} ${describe(e)} | ${describe(engine[i]!)}`).join("\n")}`,
  );
}
