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
 * time gaps that straddle every window. `runTests`, `checkProperties` and `testPolicySource` are what
 * `leash test` runs; `diffPolicies` is `leash diff`.
 * @packageDocumentation
 */

// Vocabulary and arbitraries over one policy
export { vocabularyOf, neighbours } from "./vocabulary.js";
export type { Vocabulary, AttributePool, VocabularyValue } from "./vocabulary.js";
export { arbContext, arbPrincipal, arbRequest, arbResource, arbSignal, arbTrace } from "./arbitraries.js";
export type { EventOptions, TraceEntry, TraceOptions, VocabularySource } from "./arbitraries.js";

// Assertions
export { expectPolicy, PolicyClaimError, failureMessage } from "./expect.js";
export type { ExpectOptions, PolicyExpectation, PolicyUnderTest } from "./expect.js";

// What `leash test` runs
export { runTests, runTest, testEvents, TEST_EPOCH } from "./runner.js";
export type { RunTestsOptions, TestResult, TestStepResult } from "./runner.js";
export { checkProperties, checkClaims, breaksClaim, randomSeed } from "./properties.js";
export type { ClaimResult, Counterexample, PropertyOptions } from "./properties.js";
export { testPolicySource } from "./suite.js";
export type { SuiteOptions, SuiteProgress, SuiteReport } from "./suite.js";
export { CoverageRecorder } from "./coverage.js";
export type { ClauseCoverage, CoverageReport, Outcome, RuleCoverage } from "./coverage.js";
export { traceAsTest, traceJsonl, traceLines, stepText, durationText } from "./render.js";

// What `leash diff` runs
export { diffPolicies, mergeVocabularies } from "./diff.js";
export type { DiffDirection, DiffExample, DiffGroup, DiffOptions, DiffReport } from "./diff.js";

// Random policies and random ASTs (leash's own differential and formatter tests use them). The
// policy generators' request and trace arbitraries work over a fixed shared vocabulary; they are
// under `randomPolicies` so that `arbRequest` and `arbTrace` above stay the per-policy ones.
export { arbScopePolicy, arbSequencePolicy, DEFAULT_VOCABULARY } from "./arbitraries-policy.js";
export type { PolicyVocabulary } from "./arbitraries-policy.js";
export * as randomPolicies from "./arbitraries-policy.js";
export * from "./arbitraries-ast.js";
