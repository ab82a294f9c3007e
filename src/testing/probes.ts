import type { PolicyFile, PropertyClaim, RuleDecl, WhenClause } from "../ast/nodes.js";
import type { Span } from "../ast/span.js";
import { compilePolicy } from "../compile/compile.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { Policy } from "../runtime/engine.js";

/**
 * Probes: monitor-only `flag` rules added to a copy of the policy source. A flag never changes an
 * effect, so the copy decides exactly as the policy does, and a probe's name in `decision.flags`
 * says that its targets, selectors and conditions held at that point of the trace — with the real
 * semantics, history operators and fail-closed evaluation included.
 */

/** Rule names of probes start with this; no user rule is expected to. */
export const PROBE_PREFIX = "leash--";

/** A property claim with the probe that tells when it applies. */
export interface ClaimProbe {
  /** The property's name. */
  readonly property: string;
  /** 0-based index of the claim among all claims of the file. */
  readonly index: number;
  readonly claim: PropertyClaim;
  /** The claim as written, e.g. `never allow release.push for agent "deploy-bot"`. */
  readonly text: string;
  readonly span: Span;
  /** Name of the flag rule that matches exactly the requests the claim is about. */
  readonly probe: string;
  /**
   * For a claim without conditions checked against a policy compiled without probes: whether a
   * request is one the claim is about (otherwise the probe in `decision.flags` says so).
   */
  readonly matches?: (event: { readonly action?: unknown; readonly principal?: unknown; readonly resource?: unknown }) => boolean;
}

/** Probes that measure a rule's top-level `when`/`unless` clauses. */
export interface RuleProbes {
  readonly rule: string;
  readonly span: Span;
  /** Flag rule with the rule's targets and selectors only (null when the rule has no clause). */
  readonly selectors: string | null;
  readonly clauses: readonly { readonly text: string; readonly span: Span; readonly probe: string }[];
}

/** A policy compiled with probes, and what each probe means. */
export interface Instrumented {
  readonly policy: Policy;
  readonly claims: readonly ClaimProbe[];
  readonly rules: readonly RuleProbes[];
  /** Compile errors of the instrumented copy (then `policy` is the original and probes are missing). */
  readonly diagnostics: readonly Diagnostic[];
}

/** Every property claim of a parsed file, with the source text of each. */
export function claimsOf(ast: PolicyFile, source: string): ClaimProbe[] {
  const out: ClaimProbe[] = [];
  for (const item of ast.items) {
    if (item.kind !== "PropertyDecl") continue;
    for (const claim of item.claims) {
      const index = out.length;
      out.push({ property: item.name.value, index, claim, text: source.slice(claim.span.offset, claim.span.endOffset), span: claim.span, probe: `${PROBE_PREFIX}claim-${index}` });
    }
  }
  return out;
}

/** The text of a flag rule with the claim's targets, selectors and conditions. */
export function claimProbeRule(claim: PropertyClaim, source: string, name: string): string {
  return `rule ${name}: flag ${source.slice(claim.targets[0]!.span.offset, claim.span.endOffset)}\n`;
}

/** The end of a rule's `targets [for ...] [on ...]` part. */
function selectorsEnd(r: RuleDecl): number {
  const last = [...r.targets, ...r.principals, ...r.resources].reduce((m, n) => Math.max(m, n.span.endOffset), 0);
  return last;
}

/**
 * Builds the probes of the rules' when/unless clauses: of the rules written in this file (the rules
 * a library module brings, whose text holds its parameters, are covered by the module's own tests).
 */
export function ruleProbesOf(ast: PolicyFile, source: string): { probes: RuleProbes[]; text: string } {
  const probes: RuleProbes[] = [];
  let text = "";
  let i = 0;
  for (const item of ast.items) {
    if (item.kind !== "RuleDecl" || item.span.file !== ast.span.file) continue;
    const n = i++;
    const clauses = item.clauses.filter((c): c is WhenClause => c.kind === "WhenClause");
    if (clauses.length === 0 || item.targets.length === 0) {
      probes.push({ rule: item.name.value, span: item.span, selectors: null, clauses: [] });
      continue;
    }
    const head = source.slice(item.targets[0]!.span.offset, selectorsEnd(item));
    const selectors = `${PROBE_PREFIX}cov-${n}`;
    text += `rule ${selectors}: flag ${head}\n`;
    const cs = clauses.map((c, j) => {
      const probe = `${PROBE_PREFIX}cov-${n}-${j}`;
      const clauseText = source.slice(c.span.offset, c.span.endOffset);
      text += `rule ${probe}: flag ${head}\n  ${clauseText}\n`;
      return { text: clauseText, span: c.span, probe };
    });
    probes.push({ rule: item.name.value, span: item.span, selectors, clauses: cs });
  }
  return { probes, text };
}

/**
 * Compiles the policy with a probe for every property claim and, with `coverage`, for every rule
 * clause. When the copy does not compile (it should always), the diagnostics say why.
 */
export function instrument(source: string, ast: PolicyFile, options: { file?: string; coverage?: boolean; claims?: readonly ClaimProbe[] } = {}): Instrumented | { readonly policy: null; readonly diagnostics: readonly Diagnostic[] } {
  const claims = options.claims ?? claimsOf(ast, source);
  let extra = "\n";
  for (const c of claims) extra += claimProbeRule(c.claim, source, c.probe);
  const rules = options.coverage ? ruleProbesOf(ast, source) : { probes: [], text: "" };
  extra += rules.text;
  const compiled = compilePolicy(source + extra, { file: options.file });
  if (compiled.policy === null) return { policy: null, diagnostics: compiled.diagnostics };
  return { policy: compiled.policy, claims, rules: rules.probes, diagnostics: [] };
}

/** True for the name of a probe rule (never reported as a policy's own flag). */
export function isProbe(name: string): boolean {
  return name.startsWith(PROBE_PREFIX);
}

/** True for a coverage probe (a copy of a rule's targets and one clause), which searches skip. */
export function isCoverageProbe(name: string): boolean {
  return name.startsWith(`${PROBE_PREFIX}cov-`);
}
