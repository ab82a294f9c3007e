/**
 * leash/testing — property-based testing for `.rules` policies, for any test runner.
 *
 * ```ts
 * import { expectPolicy, arbTrace } from "leash/testing";
 * expectPolicy(source).never("allow", 'release.push for agent "deploy-bot"');
 * fc.assert(fc.property(arbTrace(policy), (trace) => myGateway.handles(trace)));
 * ```
 *
 * The arbitraries draw from the policy's own vocabulary (`vocabularyOf`): its actions, signals,
 * principals, resource globs, the constants its conditions compare with (and their neighbours), and
 * time gaps that straddle every window. `directedTraces` builds traces from the policy itself that
 * reach and straddle every threshold, window, limit, label and rule; `exploreTraces` visits every
 * trace up to a bound over the policy's alphabet. `runTests`, `checkProperties` and
 * `testPolicySource` are what `leash test` runs; `diffPolicies` is `leash diff`.
 * @packageDocumentation
 */

// Vocabulary and arbitraries over one policy
export { vocabularyOf, neighbours } from "./vocabulary.js";
export type { Vocabulary, AttributePool, VocabularyValue } from "./vocabulary.js";
export { arbContext, arbPrincipal, arbRequest, arbResource, arbSignal, arbTrace } from "./arbitraries.js";
export type { EventOptions, TraceEntry, TraceOptions, VocabularySource } from "./arbitraries.js";

// Directed traces (every threshold, window, limit, label and rule reached and straddled) and the
// bounded exhaustive mode: the generators of \`leash test\` and \`leash diff\`
export { directedTraces, arbDirectedTrace, renumber } from "./directed.js";
export type { DirectedTrace, DirectedOptions, DirectedTraceOptions } from "./directed.js";
export { alphabetOf, exploreTraces, traceCount, MAX_LETTERS } from "./exhaustive.js";
export type { Alphabet, Letter, ExhaustiveOptions, ExhaustiveReport, EventOutcome } from "./exhaustive.js";
export { OPERATORS } from "./plans.js";

// Assertions
export { expectPolicy, PolicyClaimError, failureMessage } from "./expect.js";
export type { ExpectOptions, PolicyExpectation, PolicyUnderTest } from "./expect.js";

// What `leash test` runs
export { runTests, runTest, testEvents, TEST_EPOCH } from "./runner.js";
export type { RunTestsOptions, TestResult, TestStepResult } from "./runner.js";
export { checkProperties, checkClaims, breaksClaim, randomSeed, claimedEffect } from "./properties.js";
export type { ClaimResult, Counterexample, PropertyOptions, SearchPhase } from "./properties.js";
export { stepOutcomes } from "./outcomes.js";
export type { StepOutcome } from "./outcomes.js";
export { testPolicySource } from "./suite.js";
export type { SuiteOptions, SuiteProgress, SuiteReport } from "./suite.js";
export { CoverageRecorder, coverageSummary } from "./coverage.js";
export type { ClauseCoverage, CoverageReport, Outcome, RuleCoverage } from "./coverage.js";
export { traceAsTest, counterexampleTest, traceJsonl, traceLines, stepText, durationText } from "./render.js";

// What `leash diff` runs
export { diffPolicies, mergeVocabularies, DiffCompileError } from "./diff.js";
export type { DiffCoverage, DiffDirection, DiffExample, DiffGroup, DiffInput, DiffOptions, DiffReport } from "./diff.js";
export { changesBetween } from "./changes.js";
export type { PolicyChange } from "./changes.js";

// Random policies and random ASTs (leash's own differential and formatter tests use them). The
// policy generators' request and trace arbitraries work over a fixed shared vocabulary; they are
// under `randomPolicies` so that `arbRequest` and `arbTrace` above stay the per-policy ones.
export { arbScopePolicy, arbSequencePolicy, DEFAULT_VOCABULARY } from "./arbitraries-policy.js";
export type { PolicyVocabulary } from "./arbitraries-policy.js";
export * as randomPolicies from "./arbitraries-policy.js";
export * from "./arbitraries-ast.js";
