import { compilePolicy } from "../compile/compile.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { CoverageRecorder, type CoverageReport } from "./coverage.js";
import { claimsOf, instrument, type Instrumented } from "./probes.js";
import { checkClaims, randomSeed, type ClaimResult } from "./properties.js";
import { runTest, type TestResult } from "./runner.js";
import type { TestDecl } from "../ast/nodes.js";

/** Options for `testPolicySource`. */
export interface SuiteOptions {
  /** File name for diagnostics and spans. */
  readonly file?: string;
  /** Random traces per property claim (default 200). */
  readonly runs?: number;
  /** Seed for property searches (default random; reported in the result). */
  readonly seed?: number;
  /** Time limit per claim, ms (default none). */
  readonly timeout?: number;
  /** Also check every trace of up to this many events over the policy's alphabet (a proof up to that bound). */
  readonly exhaustive?: number;
  /** Most events the exhaustive search decides per file (default 3,000,000). */
  readonly exhaustiveBudget?: number;
  /**
   * Coverage is always measured (`report.coverage`); with `strict`, a rule that no test step or
   * search trace made decide fails the file.
   */
  readonly strict?: boolean;
  /** Kept for compatibility: coverage is measured in every run. */
  readonly coverage?: boolean;
  /**
   * Called before each `test` block and each property claim is run (`done` of `total` finished),
   * and once at the end with `done === total`: what a progress bar shows.
   */
  readonly onProgress?: (progress: SuiteProgress) => void;
}

/** Where `testPolicySource` is: `done` of `total` tests and claims finished, `running` the next one. */
export interface SuiteProgress {
  readonly done: number;
  readonly total: number;
  /** `test "NAME"` or `property "NAME": CLAIM`; empty at the end. */
  readonly running: string;
}

/** Everything `leash test` found for one policy file. */
export interface SuiteReport {
  readonly file: string;
  readonly ok: boolean;
  /** Compile errors (then nothing ran) and problems building the probes. */
  readonly diagnostics: readonly Diagnostic[];
  readonly tests: readonly TestResult[];
  readonly properties: readonly ClaimResult[];
  /** Which rules decided in a test step or search trace, and which clauses were seen true and false (absent when the file does not compile). */
  readonly coverage?: CoverageReport;
  /** With `strict`: the rules that never decided, which fail the file. */
  readonly undecided?: readonly string[];
  readonly seed: number;
  readonly ms: number;
}

/**
 * Runs a policy file's `test` blocks and checks its `property` claims (and, with `coverage`,
 * measures which rules decided and which clauses were seen true and false). Never throws for any
 * source text: compile errors come back as diagnostics with `ok: false`.
 */
export function testPolicySource(source: string, options: SuiteOptions = {}): SuiteReport {
  const started = Date.now();
  const file = options.file ?? "<policy>";
  const seed = options.seed ?? randomSeed();
  const done = (r: Omit<SuiteReport, "file" | "seed" | "ms">): SuiteReport => ({ file, seed, ms: Date.now() - started, ...r });
  const compiled = compilePolicy(source, { file });
  const errors = compiled.diagnostics.filter((d) => d.severity === "error");
  if (compiled.policy === null) return done({ ok: false, diagnostics: errors, tests: [], properties: [] });

  const claims = claimsOf(compiled.ast, source);
  let inst: Instrumented | null = null;
  let diagnostics: readonly Diagnostic[] = [];
  // Claims that do not compile as rules (an undeclared action, say) fail on their own; the rest are checked.
  const broken = new Map<number, string>();
  {
    let r = instrument(source, compiled.ast, { file, coverage: true, claims });
    if (r.policy === null) {
      for (const c of claims) {
        const one = instrument(source, compiled.ast, { file, claims: [c] });
        if (one.policy === null) broken.set(c.index, one.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code}: ${d.message}`).join("; "));
      }
      r = instrument(source, compiled.ast, { file, coverage: true, claims: claims.filter((c) => !broken.has(c.index)) });
    }
    if (r.policy === null) diagnostics = r.diagnostics.filter((d) => d.severity === "error");
    else inst = r as Instrumented;
  }
  const recorder = inst ? new CoverageRecorder(inst.rules, compiled.policy.ir.rules.filter((r) => r.workflow !== null).map((r) => ({ rule: r.id, span: r.span }))) : null;
  const onOutcome = recorder ? recorder.outcome.bind(recorder) : undefined;
  const testDecls = compiled.ast.items.filter((i): i is TestDecl => i.kind === "TestDecl");
  const toCheck = inst?.claims ?? [];
  const total = testDecls.length + toCheck.length;
  const progress = (done: number, running: string) => options.onProgress?.({ done, total, running });
  const tested = inst ? inst.policy : compiled.policy;
  const tests = testDecls.map((t, i) => {
    progress(i, `test ${JSON.stringify(t.name.value)}`);
    return runTest(tested, t, { onOutcome });
  });
  const claimOptions = { runs: options.runs, seed, timeout: options.timeout, exhaustive: options.exhaustive, exhaustiveBudget: options.exhaustiveBudget, onOutcome };
  // One claim at a time, so that progress moves between them (the same seed for each, as checkClaims
  // does) — except with an exhaustive search, which visits the traces once for all claims together.
  const checked =
    options.exhaustive !== undefined && inst
      ? (progress(testDecls.length, `${toCheck.length} properties, every trace of up to ${options.exhaustive} events`), checkClaims(inst, claimOptions))
      : toCheck.flatMap((claim, i) => {
          progress(testDecls.length + i, `property ${JSON.stringify(claim.property)}: ${claim.text}`);
          return checkClaims({ policy: inst!.policy, claims: [claim] }, claimOptions);
        });
  progress(total, "");
  const properties = claims.flatMap((c): ClaimResult[] => {
    const error = broken.get(c.index);
    if (error !== undefined) return [{ property: c.property, claim: c.text, span: c.span, ok: false, runs: 0, directed: 0, seed, shrinks: 0, timedOut: false, applied: 0, vacuous: false, error: `the claim does not compile: ${error}` }];
    const r = checked.find((x) => x.span === c.span);
    return r ? [r] : [];
  });
  const coverage = recorder?.report();
  const undecided = options.strict && coverage ? coverage.notExercised : [];
  const ok = diagnostics.length === 0 && tests.every((t) => t.ok) && properties.every((p) => p.ok) && undecided.length === 0;
  return done({ ok, diagnostics, tests, properties, ...(coverage ? { coverage } : {}), ...(options.strict ? { undecided } : {}) });
}
