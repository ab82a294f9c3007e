import type { Effect, PropertyClaim, RuleDecl } from "../ast/nodes.js";
import { compilePolicy, PolicyCompileError } from "../compile/compile.js";
import { renderDiagnostics } from "../diagnostics/render.js";
import type { Policy } from "../runtime/engine.js";
import { actionPatternMatches, compileGlob, globMatch } from "../runtime/glob.js";
import { parsePolicy } from "../syntax/index.js";
import { PROBE_PREFIX, type ClaimProbe } from "./probes.js";
import { checkClaim, randomSeed, type ClaimResult, type PropertyOptions } from "./properties.js";
import { counterexampleTest, traceJsonl, traceLines } from "./render.js";
import { vocabularyOf } from "./vocabulary.js";

/**
 * What `expectPolicy` accepts: the `.rules` source (claims may then have `when`/`unless`
 * conditions, history operators included), `{ source, file }`, or a compiled `Policy` (claims
 * without conditions only, since a condition is compiled together with the policy's source).
 */
export type PolicyUnderTest = string | { readonly source: string; readonly file?: string } | Policy;

/** Options of `expectPolicy`: how hard to search. */
export type ExpectOptions = Omit<PropertyOptions, "onOutcome">;

/** Claims about a policy, checked by searching random traces; each throws on a counterexample. */
export interface PolicyExpectation {
  /**
   * Asserts that no request the claim is about gets `effect`. The claim is written as in a
   * `property` block after the effect: `'release.push for agent "deploy-bot"'`,
   * `'email.send when after(secret.read by session within 10m)'`. Throws an Error whose message
   * holds the shrunk counterexample trace, its JSONL lines and the seed.
   */
  never(effect: Effect, claim: string, options?: ExpectOptions): void;
  /** Asserts that every request the claim is about gets exactly `effect` (`flag`: some flag is raised). */
  always(effect: Effect, claim: string, options?: ExpectOptions): void;
  /** Like `never`/`always` but returns the result instead of throwing. */
  check(quantifier: "never" | "always", effect: Effect, claim: string, options?: ExpectOptions): ClaimResult;
}

/** The error `expectPolicy(...).never/always` throws; `result` has the counterexample. */
export class PolicyClaimError extends Error {
  override readonly name = "PolicyClaimError";
  constructor(
    message: string,
    readonly result: ClaimResult,
  ) {
    super(message);
  }
}

/**
 * Property-based assertions for a policy, for use in any test runner:
 *
 * ```ts
 * import { expectPolicy } from "leash/testing";
 * it("the bot never pushes", () => {
 *   expectPolicy(source).never("allow", 'release.push for agent "deploy-bot"');
 * });
 * ```
 */
export function expectPolicy(policy: PolicyUnderTest, defaults: ExpectOptions = {}): PolicyExpectation {
  const check = (quantifier: "never" | "always", effect: Effect, claim: string, options: ExpectOptions = {}): ClaimResult => {
    const o = { ...defaults, ...options };
    const seed = o.seed ?? randomSeed();
    const { target, probe } = prepare(policy, quantifier, effect, claim);
    return checkClaim(target, probe, vocabularyOf(target), seed, o);
  };
  const assert = (quantifier: "never" | "always", effect: Effect, claim: string, options?: ExpectOptions) => {
    const r = check(quantifier, effect, claim, options);
    if (!r.ok) throw new PolicyClaimError(failureMessage(r), r);
  };
  return {
    never: (effect, claim, options) => assert("never", effect, claim, options),
    always: (effect, claim, options) => assert("always", effect, claim, options),
    check,
  };
}

const PROBE = `${PROBE_PREFIX}expect`;

function prepare(policy: PolicyUnderTest, quantifier: "never" | "always", effect: Effect, claimText: string): { target: Policy; probe: ClaimProbe } {
  const text = `${quantifier} ${effect} ${claimText}`;
  // Duck-typed: \`leash\` and \`leash/testing\` are separate bundles, each with its own Policy class.
  if (isPolicy(policy)) {
    const parsed = parsePolicy(`rule ${PROBE}: flag ${claimText}\n`, { file: "<claim>" });
    const rule = parsed.ast.items.find((i): i is RuleDecl => i.kind === "RuleDecl");
    if (!rule || parsed.diagnostics.some((d) => d.severity === "error")) throw new Error(`cannot parse the claim ${JSON.stringify(claimText)}:\n${renderDiagnostics(parsed.diagnostics, () => `rule ${PROBE}: flag ${claimText}\n`)}`);
    if (rule.clauses.length > 0) throw new Error(`the claim ${JSON.stringify(claimText)} has conditions: pass the policy source to expectPolicy (conditions are compiled with it)`);
    const claim = claimOf(rule, quantifier, effect);
    return { target: policy, probe: { property: text, index: 0, claim, text, span: rule.span, probe: PROBE, matches: matcherOf(claim) } };
  }
  const { source, file } = typeof policy === "string" ? { source: policy, file: "<policy>" } : { source: policy.source, file: policy.file ?? "<policy>" };
  const base = compilePolicy(source, { file });
  if (base.policy === null) throw new PolicyCompileError(base.diagnostics, source);
  const full = `${source}\nrule ${PROBE}: flag ${claimText}\n`;
  const compiled = compilePolicy(full, { file });
  if (compiled.policy === null) throw new Error(`cannot compile the claim ${JSON.stringify(claimText)}:\n${renderDiagnostics(compiled.diagnostics, () => full)}`);
  const rule = compiled.ast.items.find((i): i is RuleDecl => i.kind === "RuleDecl" && i.name.value === PROBE)!;
  return { target: compiled.policy, probe: { property: text, index: 0, claim: claimOf(rule, quantifier, effect), text, span: rule.span, probe: PROBE } };
}

function isPolicy(p: PolicyUnderTest): p is Policy {
  return typeof p === "object" && p !== null && typeof (p as Policy).decide === "function" && typeof (p as Policy).initialState === "function";
}

function claimOf(rule: RuleDecl, quantifier: "never" | "always", effect: Effect): PropertyClaim {
  return {
    kind: "PropertyClaim",
    span: rule.span,
    quantifier,
    effect,
    targets: rule.targets,
    principals: rule.principals,
    resources: rule.resources,
    conditions: rule.clauses.filter((c) => c.kind === "WhenClause"),
  };
}

/** Whether a request is one a condition-free claim is about: its targets, principals and resources. */
function matcherOf(claim: PropertyClaim): NonNullable<ClaimProbe["matches"]> {
  const targets = claim.targets.filter((t) => t.kind === "ActionTarget").map((t) => t.pattern.segments);
  const globs = claim.resources.map((r) => compileGlob(r.glob));
  return (e) => {
    if (typeof e.action !== "string" || !targets.some((t) => actionPatternMatches(t, e.action as string))) return false;
    const p = e.principal as Record<string, unknown> | undefined;
    if (claim.principals.length > 0) {
      if (!p || typeof p.kind !== "string" || typeof p.id !== "string") return false;
      const ok = claim.principals.some(
        (s) =>
          (s.principalKind === null || s.principalKind.value === p.kind) &&
          (s.id === null || s.id.value === "*" || globMatch(compileGlob(s.id.value), p.id as string)) &&
          s.attributes.every((a) => Object.prototype.hasOwnProperty.call(p, a.name.value) && p[a.name.value] === (a.value.kind === "DurationLit" ? a.value.ms : a.value.value)),
      );
      if (!ok) return false;
    }
    if (globs.length > 0) {
      const r = e.resource as Record<string, unknown> | undefined;
      const subject = r && typeof r.path === "string" ? r.path : r && typeof r.id === "string" ? r.id : null;
      if (subject === null || !globs.some((g) => globMatch(g, subject))) return false;
    }
    return true;
  };
}

/** The message of a failed claim: what happened, the trace as test steps and as JSONL, the seed. */
export function failureMessage(r: ClaimResult): string {
  const lines = [`claim failed: ${r.claim}`];
  if (r.error) lines.push(r.error);
  const c = r.counterexample;
  if (c) {
    lines.push(c.message, `counterexample (${c.trace.length} event${c.trace.length === 1 ? "" : "s"}, seed ${r.seed}${r.path ? `, path ${JSON.stringify(r.path)}` : ""}):`);
    lines.push(...traceLines(c.trace, new Map([[c.index, `${c.decision.effect}${c.decision.rules.length ? ` by ${c.decision.rules.join(", ")}` : ""}`]])));
    const asTest = counterexampleTest(`counterexample: ${r.claim}`, c, r.claim);
    if (asTest) lines.push(`as a test block (it fails at step ${c.index + 1} until the policy keeps the claim):`, asTest);
    lines.push("as JSONL (leash eval POLICY.rules TRACE.jsonl --check replays it):", traceJsonl(c.trace, c.outcomes).trimEnd());
  } else lines.push(`seed ${r.seed}`);
  return lines.join("\n");
}
