import type { Span } from "../ast/span.js";
import type { Decision, DecisionError } from "../runtime/types.js";
import { isProbe, type RuleProbes } from "./probes.js";

/** How often a top-level `when`/`unless` clause held, did not hold, or could not be evaluated. */
export interface ClauseCoverage {
  /** The clause as written: `unless after(signal approval.granted by session within 1h)`. */
  readonly text: string;
  readonly span: Span;
  readonly true: number;
  readonly false: number;
  /** Evaluations that failed (missing attribute, no key): the rule counted them fail-closed. */
  readonly error: number;
}

/** Whether a rule ever decided, and what its clauses were seen to be. */
export interface RuleCoverage {
  readonly rule: string;
  readonly span: Span;
  /** Decisions (and signals) where the rule was among `decision.rules` or `decision.flags`. */
  readonly decided: number;
  readonly clauses: readonly ClauseCoverage[];
}

/** Coverage of one policy file, like `opa test --coverage`. */
export interface CoverageReport {
  readonly rules: readonly RuleCoverage[];
  /** Rules that never decided. */
  readonly notExercised: readonly string[];
  /** Rules that decided at least once / all rules. */
  readonly ruleRatio: readonly [number, number];
  /** Clauses seen both true and false / all clauses. */
  readonly clauseRatio: readonly [number, number];
}

/** What a decision or an observed signal said, in the shape coverage needs. */
export interface Outcome {
  readonly rules: readonly string[];
  readonly flags: readonly string[];
  readonly errors: readonly DecisionError[];
}

/** Accumulates outcomes of every test step and property trace into a coverage report. */
export class CoverageRecorder {
  private readonly decided = new Map<string, number>();
  private readonly clauses = new Map<string, { t: number; f: number; e: number }>();

  constructor(
    private readonly probes: readonly RuleProbes[],
    private readonly workflowRules: readonly { readonly rule: string; readonly span: Span }[] = [],
  ) {}

  /** Records a request's decision. */
  decision(d: Decision): void {
    this.outcome({ rules: d.rules, flags: d.flags, errors: d.errors });
  }

  /** Records one outcome (a decision, or a signal's revoking rules and flags). */
  outcome(o: Outcome): void {
    for (const r of o.rules) this.decided.set(r, (this.decided.get(r) ?? 0) + 1);
    let flagged: Set<string> | null = null;
    for (const f of o.flags) {
      if (isProbe(f)) (flagged ??= new Set()).add(f);
      else this.decided.set(f, (this.decided.get(f) ?? 0) + 1);
    }
    if (flagged === null) return;
    const errored = new Set(o.errors.flatMap((e) => (e.rule !== null && isProbe(e.rule) ? [e.rule] : [])));
    for (const p of this.probes) {
      if (p.selectors === null || !flagged.has(p.selectors) || errored.has(p.selectors)) continue;
      for (const c of p.clauses) {
        let s = this.clauses.get(c.probe);
        if (!s) this.clauses.set(c.probe, (s = { t: 0, f: 0, e: 0 }));
        if (errored.has(c.probe)) s.e++;
        else if (flagged.has(c.probe)) s.t++;
        else s.f++;
      }
    }
  }

  /** The report so far. */
  report(): CoverageReport {
    const rules: RuleCoverage[] = [...this.probes, ...this.workflowRules.map((w) => ({ ...w, selectors: null, clauses: [] }))].map((p) => ({
      rule: p.rule,
      span: p.span,
      decided: this.decided.get(p.rule) ?? 0,
      clauses: p.clauses.map((c) => {
        const s = this.clauses.get(c.probe) ?? { t: 0, f: 0, e: 0 };
        return { text: c.text, span: c.span, true: s.t, false: s.f, error: s.e };
      }),
    }));
    const clauses = rules.flatMap((r) => r.clauses);
    return {
      rules,
      notExercised: rules.filter((r) => r.decided === 0).map((r) => r.rule),
      ruleRatio: [rules.filter((r) => r.decided > 0).length, rules.length],
      clauseRatio: [clauses.filter((c) => c.true > 0 && c.false > 0).length, clauses.length],
    };
  }
}

/** `19/20 rules decided, 30/34 clauses seen true and false`: how deep a search went, in one line. */
export function coverageSummary(c: CoverageReport): string {
  const clauses = c.clauseRatio[1] > 0 ? `, ${c.clauseRatio[0]}/${c.clauseRatio[1]} clauses seen true and false` : "";
  return `${c.ruleRatio[0]}/${c.ruleRatio[1]} rules decided${clauses}`;
}
